#!/usr/bin/env bash
# ops_k8s: the Kubernetes kit (ops/k8s) builds and validates offline, and is
# wired to what the scorer really does.
#  1. `kubectl kustomize` refuses the kit until the Secret's files exist
#     (none is committed), then builds it with them;
#  2. tests/k8s/validate.js validates every object against the Kubernetes
#     OpenAPI schema and the KEDA / Prometheus Operator CRD schemas, and
#     finds unknown fields with TypeScript's typed interfaces: the kit has
#     no problem, and a copy with five planted mistakes (a misspelt field in
#     a container, in a ScaledObject and in a ServiceMonitor endpoint, a
#     string where a number goes, a kind without a schema) is refused naming
#     each one;
#  3. the wiring: the StatefulSet's pods get their name as PDM_INSTANCE_ID,
#     probes on /healthz and /readyz at the port PDM_HTTP names, resources at
#     least the measured peak RSS, every PDM_* variable is a pdm-scorer
#     option, the files the *_FILE variables and -X @FILE arguments name are
#     mounted from the ConfigMap and Secret keys that exist, the PDB,
#     Services, ServiceMonitor and ScaledObject select the scorers, and KEDA
#     never runs more scorers than the input topics have partitions; the
#     pdm-retrain CronJob (--once, never two at a time, its PDM_* variables
#     options, the models volume writable, the archive read-only, the token
#     from the Secret, the scorer API Service) and pdm-archive's Deployment
#     (one writer of the archive volume);
#  4. a real pdm-scorer started with exactly the pod's environment and
#     arguments (paths moved into the test's directory, its own redis-server
#     and embedded broker) starts, joins as the static member named by its
#     pod, with the session timeout of the kit's kafka.properties, turns
#     ready, asks for the Secret's token on /v1/ and stops cleanly.
# Skipped (77) only where npm is not installed; the npm packages come from
# scripts/install-deps.sh (tests/k8s/package-lock.json).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
if ! command -v npm >/dev/null; then
  echo "skipped: npm is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
ops_require node kubectl
VALIDATOR=$PDM_SOURCE_DIR/tests/k8s
[ -d "$VALIDATOR/node_modules/kubernetes-models" ] \
  || pdm_fail "$VALIDATOR/node_modules is missing: run scripts/install-deps.sh (npm ci there)"
pdm_tmpdir >/dev/null
T=$PDM_TMP

# 1. Build, without and with the Secret's files.
cp -r "$OPS_DIR/k8s" "$T/kit"
rm -f "$T/kit/secrets/http-token" "$T/kit/secrets/redis-password" "$T/kit/secrets/kafka.properties"
if kubectl kustomize "$T/kit" >"$T/nosecrets.yaml" 2>"$T/nosecrets.log"; then
  pdm_fail "kubectl kustomize built the kit without the Secret's files"
fi
token=tok-$RANDOM$RANDOM$RANDOM
printf '%s' "$token" >"$T/kit/secrets/http-token"
: >"$T/kit/secrets/redis-password"
cp "$T/kit/secrets/kafka.properties.example" "$T/kit/secrets/kafka.properties"
kubectl kustomize "$T/kit" >"$T/k8s.yaml" 2>"$T/kustomize.log" \
  || pdm_fail "kubectl kustomize failed: $(cat "$T/kustomize.log")"
echo "1. kubectl kustomize: $(grep -c "^kind:" "$T/k8s.yaml") objects"

# 2. Schema validation, and the same objects with planted mistakes.
node "$VALIDATOR/validate.js" "$T/k8s.yaml" >"$T/validate.log" 2>&1 \
  || pdm_fail "the kit does not validate: $(cat "$T/validate.log")"
echo "2. $(tail -1 "$T/validate.log")"
"$OPS_PY" - "$T/k8s.yaml" "$T/broken.yaml" <<'PY' || pdm_fail "could not plant mistakes"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kind = {d["kind"]: d for d in docs}
c = kind["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]
c["imagePullPolcy"] = c.pop("imagePullPolicy")               # unknown field in a container
kind["StatefulSet"]["spec"]["replicas"] = "2"                 # a string for an integer
kind["ScaledObject"]["spec"]["maxReplicas"] = 6               # unknown field in a CRD object
kind["ServiceMonitor"]["spec"]["endpoints"][0]["intervall"] = "15s"
docs.append({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}})
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
PY
status=0
node "$VALIDATOR/validate.js" "$T/broken.yaml" >"$T/broken.log" 2>&1 || status=$?
[ "$status" = 1 ] || pdm_fail "the broken copy: exit $status, want 1: $(cat "$T/broken.log")"
for want in "StatefulSet/pdm-scorer): type: .*'\"imagePullPolcy\"' does not exist in type 'IContainer'" \
  "StatefulSet/pdm-scorer): schema: data/spec/replicas must be integer" \
  "ScaledObject/pdm-scorer): type: .*'\"maxReplicas\"' does not exist" \
  "ServiceMonitor/pdm-scorer): type: .*'\"intervall\"' does not exist" \
  "Gadget/x): no schema for apiVersion example.com/v1 kind Gadget"; do
  grep -q -- "$want" "$T/broken.log" || pdm_fail "the broken copy's problems lack /$want/: $(cat "$T/broken.log")"
done
echo "   broken copy: $(tail -1 "$T/broken.log")"

# 3. Wiring.
"$PDM_BIN/pdm-scorer" --help >"$T/scorer.help"
"$OPS_PY" - "$T/k8s.yaml" "$T/scorer.help" "$PDM_SOURCE_DIR/docker-compose.yml" "$T/pod.env" "$T/pod.args" <<'PY' \
  || pdm_fail "kit wiring check failed"
import re, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
helptext = open(sys.argv[2]).read()
compose = open(sys.argv[3]).read()
errs = []
by = {}
for d in docs:
    by.setdefault(d["kind"], []).append(d)
def one(kind, name=None):
    found = [d for d in by.get(kind, []) if name is None or d["metadata"]["name"].startswith(name)]
    if len(found) != 1:
        errs.append(f"want one {kind} {name or ''}, found {len(found)}")
        return {}
    return found[0]
def qty_mib(q):
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", str(q))
    return int(m.group(1)) * units[m.group(2)] if m else -1

sts = one("StatefulSet", "pdm-scorer")
pod = sts["spec"]["template"]
labels = pod["metadata"]["labels"]
def selects(selector):
    return all(labels.get(k) == v for k, v in selector.items())
if not selects(sts["spec"]["selector"]["matchLabels"]):
    errs.append("the StatefulSet's selector does not match its pods")
c = [c for c in pod["spec"]["containers"] if c["name"] == "scorer"][0]
cm = one("ConfigMap", "pdm-scorer-config")
secret = one("Secret", "pdm-scorer-secrets")
env = dict(cm.get("data", {}))
env = {k: v for k, v in env.items() if k.startswith("PDM_")}
for ref in c.get("envFrom", []):
    if ref.get("configMapRef", {}).get("name") != cm["metadata"]["name"]:
        errs.append(f"envFrom {ref} is not the ConfigMap")
for e in c.get("env", []):
    env[e["name"]] = e.get("value", e.get("valueFrom"))
inst = env.get("PDM_INSTANCE_ID")
if inst != {"fieldRef": {"fieldPath": "metadata.name"}}:
    errs.append(f"PDM_INSTANCE_ID is {inst}, not the pod's name")
options = set(re.findall(r"env (PDM_[A-Z_]+)", helptext))
for key in env:
    base = key[:-5] if key.endswith("_FILE") else key
    if base not in options:
        errs.append(f"{key} is no pdm-scorer option")

# Ports and probes.
port = int(env.get("PDM_HTTP", ":0").rsplit(":", 1)[1])
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
if ports.get("http") != port or port != 8000:
    errs.append(f"container port http {ports.get('http')} is not PDM_HTTP's {port} (the image's 8000)")
for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")]:
    g = c.get(probe, {}).get("httpGet", {})
    if g.get("path") != path or g.get("port") not in ("http", port):
        errs.append(f"{probe} is {g}, want {path} on the http port")
ann = pod["metadata"].get("annotations", {})
if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(port) or ann.get("prometheus.io/path") != "/metrics":
    errs.append(f"prometheus annotations {ann}")

# Resources: the request covers the measured peak RSS (107-116 MiB, README).
res = c.get("resources", {})
req, lim = qty_mib(res.get("requests", {}).get("memory")), qty_mib(res.get("limits", {}).get("memory"))
if req < 116 or lim < req:
    errs.append(f"memory request {req} MiB / limit {lim} MiB: want the request >= the measured peak 116 MiB and the limit >= it")
if not res.get("requests", {}).get("cpu"):
    errs.append("no CPU request")

# Files: what *_FILE and -X @FILE name is mounted, from keys that exist.
mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
def source_of(path):
    for mp, vname in mounts.items():
        if path.startswith(mp.rstrip("/") + "/"):
            v, key = volumes[vname], path[len(mp.rstrip("/")) + 1:]
            if "secret" in v:
                if not v["secret"]["secretName"] == secret["metadata"]["name"] or key not in secret.get("data", {}):
                    return None
                return ("secret", key)
            if "configMap" in v:
                items = {i["path"]: i["key"] for i in v["configMap"].get("items", [])} or {k: k for k in cm.get("data", {})}
                if v["configMap"]["name"] != cm["metadata"]["name"] or items.get(key) not in cm.get("data", {}):
                    return None
                return ("configmap", items[key])
    return None
files = [v for k, v in env.items() if k.endswith("_FILE")]
args = c.get("args", [])
files += [a[1:] for a in args if a.startswith("@")]
for f in files:
    if not source_of(f):
        errs.append(f"{f} is not mounted from an existing ConfigMap or Secret key")
if "session.timeout.ms=" not in cm["data"].get("kafka.properties", ""):
    errs.append("kafka.properties sets no session.timeout.ms")
model = env.get("PDM_MODEL")
if model not in mounts or volumes[mounts[model]].get("persistentVolumeClaim", {}).get("claimName") != one("PersistentVolumeClaim", "pdm-models").get("metadata", {}).get("name"):
    errs.append(f"PDM_MODEL {model} is not the models PVC")

# Services, PDB, ServiceMonitor, ScaledObject.
svcs = {s["metadata"]["name"]: s for s in by.get("Service", [])}
gov = svcs.get(sts["spec"].get("serviceName"))
if not gov or gov["spec"].get("clusterIP") != "None" or not selects(gov["spec"]["selector"]):
    errs.append("the StatefulSet's serviceName is not a headless Service of its pods")
api = svcs.get("pdm-scorer-api")
if not api or not selects(api["spec"]["selector"]) or api["spec"]["ports"][0]["targetPort"] not in ("http", port):
    errs.append("no pdm-scorer-api Service on the scorers' http port")
pdb = one("PodDisruptionBudget")
if not selects(pdb.get("spec", {}).get("selector", {}).get("matchLabels", {})) or pdb["spec"].get("maxUnavailable") != 1:
    errs.append(f"the PDB does not keep all but one scorer: {pdb.get('spec')}")
sm = one("ServiceMonitor")
sel = sm.get("spec", {}).get("selector", {}).get("matchLabels", {})
if not gov or not all(gov["metadata"]["labels"].get(k) == v for k, v in sel.items()):
    errs.append("the ServiceMonitor does not select the headless Service")
ep = sm.get("spec", {}).get("endpoints", [{}])[0]
if ep.get("port") != "http" or ep.get("path") != "/metrics":
    errs.append(f"ServiceMonitor endpoint {ep}")
so = one("ScaledObject")
spec = so.get("spec", {})
if spec.get("scaleTargetRef", {}).get("kind") != "StatefulSet" or spec["scaleTargetRef"].get("name") != sts["metadata"]["name"]:
    errs.append(f"the ScaledObject scales {spec.get('scaleTargetRef')}")
partitions = int(re.search(r"--partitions \$\{PDM_PARTITIONS:-(\d+)\}", compose).group(1))
if not 1 <= spec.get("minReplicaCount", 0) <= spec.get("maxReplicaCount", 0) <= partitions:
    errs.append(f"replicas {spec.get('minReplicaCount')}..{spec.get('maxReplicaCount')} not within 1..{partitions} partitions")
trig = [t for t in spec.get("triggers", []) if t["type"] == "kafka"]
m = trig[0]["metadata"] if trig else {}
if m.get("consumerGroup") != env.get("PDM_GROUP") or m.get("bootstrapServers") != env.get("PDM_BROKERS"):
    errs.append(f"the kafka trigger's group/brokers {m.get('consumerGroup')}/{m.get('bootstrapServers')} are not the scorer's {env.get('PDM_GROUP')}/{env.get('PDM_BROKERS')}")
if m.get("allowIdleConsumers") != "false" or m.get("topic") not in ("pdm.telemetry", None):
    errs.append(f"the kafka trigger may scale past the partitions or watches another topic: {m}")

# The pod's environment and arguments, for step 4 (values as the pod sees them).
with open(sys.argv[4], "w") as f:
    for k, v in env.items():
        f.write(f"{k}={'pdm-scorer-0' if k == 'PDM_INSTANCE_ID' else v}\n")
open(sys.argv[5], "w").write("\n".join(args) + "\n")
for e in errs:
    print(e)
print(f"{len(docs)} objects, {len(errs)} problems")
sys.exit(1 if errs else 0)
PY
echo "3. wiring: ok"

# 3b. The retraining loop: pdm-archive's Deployment and pdm-retrain's CronJob.
"$PDM_BIN/pdm-retrain" --help >"$T/retrain.help"
"$PDM_BIN/pdm-archive" --help >"$T/archive.help"
"$OPS_PY" - "$T/k8s.yaml" "$T/retrain.help" "$T/archive.help" <<'PY' || pdm_fail "retraining loop wiring check failed"
import re, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
retrain_opts = set(re.findall(r"env (PDM_[A-Z_]+)", open(sys.argv[2]).read()))
archive_opts = set(re.findall(r"env (PDM_[A-Z_]+)", open(sys.argv[3]).read()))
errs = []
def one(kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    if len(found) != 1:
        errs.append(f"want one {kind} {name}, found {len(found)}")
        return {}
    return found[0]
cm = one("ConfigMap", "pdm-retrain-config")
secret = one("Secret", "pdm-scorer-secrets")
pvcs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PersistentVolumeClaim"}

def env_of(c):
    env = {}
    for ref in c.get("envFrom", []):
        if ref.get("configMapRef", {}).get("name") != cm.get("metadata", {}).get("name"):
            errs.append(f"{c['name']}: envFrom {ref} is not pdm-retrain-config")
        env.update({k: v for k, v in cm.get("data", {}).items() if k.startswith("PDM_")})
    env.update({e["name"]: e.get("value") for e in c.get("env", [])})
    return env
def mount_of(pod, c, path):
    """(volume, read-only) of the mount holding path."""
    vols = {v["name"]: v for v in pod["volumes"]}
    best = None
    for m in c.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and (best is None or len(mp) > len(best[0])):
            best = (mp, vols[m["name"]], m.get("readOnly", False), path[len(mp) + 1:])
    return best
def pvc_of(mount):
    return mount and mount[1].get("persistentVolumeClaim", {}).get("claimName")

# pdm-retrain: --once from a CronJob that never overlaps, its options real
cj = one("CronJob", "pdm-retrain")
job = cj.get("spec", {}).get("jobTemplate", {}).get("spec", {})
pod = job.get("template", {}).get("spec", {})
c = (pod.get("containers") or [{}])[0]
env = env_of(c)
if cj.get("spec", {}).get("concurrencyPolicy") != "Forbid":
    errs.append("the CronJob may run two evaluations at once (concurrencyPolicy)")
if c.get("command") != ["pdm-retrain"] or env.get("PDM_RETRAIN_ONCE") != "true":
    errs.append(f"the CronJob's container is not pdm-retrain --once: {c.get('command')} {env.get('PDM_RETRAIN_ONCE')}")
# (the ConfigMap is pdm-archive's too: each variable is an option of one of them)
for k in env:
    base = k[:-5] if k.endswith("_FILE") else k
    if base not in (retrain_opts if k.startswith("PDM_RETRAIN_") else retrain_opts | archive_opts):
        errs.append(f"{k} is no pdm-retrain option" + ("" if k.startswith("PDM_RETRAIN_") else " nor pdm-archive's"))
models = mount_of(pod, c, env.get("PDM_RETRAIN_MODELS", "?"))
if pvc_of(models) != "pdm-models" or models[2]:
    errs.append(f"PDM_RETRAIN_MODELS is not the models volume, writable: {models}")
arc = mount_of(pod, c, env.get("PDM_RETRAIN_ARCHIVE", "?"))
if pvc_of(arc) != "pdm-archive" or not arc[2]:
    errs.append(f"PDM_RETRAIN_ARCHIVE is not the archive volume, read-only: {arc}")
for k in ("PDM_RETRAIN_MLRUNS", "PDM_RETRAIN_METRICS_TEXTFILE"):
    m = mount_of(pod, c, env.get(k, "?"))
    if not pvc_of(m) or pvc_of(m) not in pvcs or m[2]:
        errs.append(f"{k} is not on a writable volume that persists: {m}")
work = mount_of(pod, c, env.get("PDM_RETRAIN_WORK", "?"))
if not work or "emptyDir" not in work[1]:
    errs.append(f"PDM_RETRAIN_WORK is not a scratch volume: {work}")
tok = mount_of(pod, c, env.get("PDM_RETRAIN_SCORER_TOKEN_FILE", "?"))
if not tok or tok[1].get("secret", {}).get("secretName") != secret.get("metadata", {}).get("name") \
        or tok[3] not in secret.get("data", {}):
    errs.append(f"PDM_RETRAIN_SCORER_TOKEN_FILE is not a key of the scorers' Secret: {tok}")
api = one("Service", "pdm-scorer-api")
port = api.get("spec", {}).get("ports", [{}])[0].get("port")
if env.get("PDM_RETRAIN_SCORER") != f"http://pdm-scorer-api:{port}":
    errs.append(f"PDM_RETRAIN_SCORER {env.get('PDM_RETRAIN_SCORER')} is not the pdm-scorer-api Service")

# pdm-archive: one writer of the archive volume
dep = one("Deployment", "pdm-archive")
spec = dep.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
c = (pod.get("containers") or [{}])[0]
env = env_of(c)
if spec.get("replicas") != 1 or spec.get("strategy", {}).get("type") != "Recreate":
    errs.append("pdm-archive may run two writers of its directory (replicas 1, strategy Recreate)")
if c.get("command") != ["pdm-archive"]:
    errs.append(f"the archive's container runs {c.get('command')}")
for k in env:
    if k.startswith("PDM_ARCHIVE_") and k not in archive_opts:
        errs.append(f"{k} is no pdm-archive option")
d = mount_of(pod, c, env.get("PDM_ARCHIVE_DIR", "?"))
if pvc_of(d) != "pdm-archive" or d[2]:
    errs.append(f"PDM_ARCHIVE_DIR is not the archive volume, writable: {d}")
if pvcs.get("pdm-archive", {}).get("spec", {}).get("accessModes") != ["ReadWriteMany"]:
    errs.append("the archive volume is not ReadWriteMany (the CronJob's pods read it on any node)")
for e in errs:
    print(e)
sys.exit(1 if errs else 0)
PY
echo "3b. retraining loop wiring: ok (pdm-archive Deployment, pdm-retrain CronJob)"

# 4. A real scorer with the pod's environment and arguments.
mkdir -p "$T/etc" "$T/run"
"$OPS_PY" -c 'import sys, yaml; print(next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("pdm-scorer-config"))["data"]["kafka.properties"], end="")' \
  "$T/k8s.yaml" >"$T/etc/kafka.properties"
cp "$T/kit/secrets/http-token" "$T/kit/secrets/redis-password" "$T/kit/secrets/kafka.properties" "$T/run/"
sl_sim "$T/data" 4 200 5
sl_train "$T/data" "$T/train.log" --rounds 3 --out "$T/models/a" --promote "$T/models"
pdm_start_redis
pdm_start_broker 4
podenv=()
while IFS='=' read -r key value; do
  case $key in
    PDM_BROKERS) value=$PDM_BROKERS ;;
    PDM_REDIS_URL) value=$PDM_REDIS_URL ;;
    PDM_MODEL) value=$T/models ;;
    PDM_HTTP) value=127.0.0.1:0 ;;
  esac
  value=${value//\/run\/secrets\/pdm/$T/run}
  podenv+=("$key=$value")
done <"$T/pod.env"
mapfile -t podargs < <(sed -e "s#/etc/pdm#$T/etc#; s#/run/secrets/pdm#$T/run#" "$T/pod.args")
env -i PATH="$PATH" HOME="$T" "${podenv[@]}" "$PDM_BIN/pdm-scorer" "${podargs[@]}" >"$T/pod.log" 2>&1 &
pod=$!
pdm_track_checked "$pod" "pdm-scorer with the pod's environment"
sl_wait_log "$T/pod.log" "http listening on port" 1 20
port=$(sed -n 's/.*http listening on port \([0-9]*\).*/\1/p' "$T/pod.log" | head -1)
grep -q "static group membership: group.instance.id=pdm-scorer-0 session.timeout.ms=30000" "$T/pod.log" \
  || pdm_fail "the pod's scorer is not the static member pdm-scorer-0 with the kit's session timeout: $(grep -i membership "$T/pod.log")"
status() { # PATH [TOKEN]: the HTTP status
  "$OPS_PY" - "http://127.0.0.1:$port$1" "${2:-}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
ready() { [ "$(status /readyz)" = 200 ]; }
pdm_wait_until 30 ready || pdm_fail "the pod's scorer is not ready after 30 s: $(tail -5 "$T/pod.log")"
[ "$(status /healthz)" = 200 ] || pdm_fail "/healthz is not 200"
[ "$(status /v1/model)" = 401 ] || pdm_fail "/v1/model without the Secret's token is not 401"
[ "$(status /v1/model "$token")" = 200 ] || pdm_fail "/v1/model with the Secret's token is not 200"
pdm_stop_check "$pod" "pdm-scorer with the pod's environment (SIGTERM)" "$T/pod.log"
! grep -q -- "$token" "$T/pod.log" || pdm_fail "the token is in the scorer's log"
echo "4. the pod's scorer: static member pdm-scorer-0, ready, token enforced, clean stop"
echo "ops_k8s: ok"
