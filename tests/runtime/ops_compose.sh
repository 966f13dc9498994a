#!/usr/bin/env bash
# ops_compose: docker-compose.yml is valid for Debian's docker-compose
# (`config -q`, no engine needed) and wired right. The scorer is published on
# host port 8000, or PDM_HTTP_PORT (8080), to container port 8000; Kafka runs
# in KRaft mode as one broker+controller node, Redis with AOF on a volume;
# the scorer reaches both by service name on their real ports, starts after
# the topics, Redis and a model are there, and is built from ops/Dockerfile;
# every PDM_* variable given to a pdm program is one of its options and the
# producer's command line parses; kafka-init creates the product's topics;
# Prometheus scrapes the scorer service on its container port; bind-mounted
# files exist. Runs with a clean environment, so a developer's PDM_* or
# *_PORT variables cannot change the result.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
ops_require docker-compose
T=$PDM_TMP
cd "$PDM_SOURCE_DIR"

render() { # render FILE [VAR=VALUE...]
  local file=$1
  shift
  env -i PATH="$PATH" HOME="$T" "$@" docker-compose -f docker-compose.yml config -q >"$T/q.log" 2>&1 \
    || pdm_fail "docker-compose config -q ($*): $(cat "$T/q.log")"
  [ ! -s "$T/q.log" ] || pdm_fail "docker-compose config -q ($*) warns: $(cat "$T/q.log")"
  env -i PATH="$PATH" HOME="$T" "$@" docker-compose -f docker-compose.yml --profile demo --profile replay \
    config >"$file" 2>"$T/config.log" || pdm_fail "docker-compose config ($*): $(cat "$T/config.log")"
}
render "$T/default.yml"
render "$T/8080.yml" PDM_HTTP_PORT=8080

# The rendered scorer port: host 8000 (resp. 8080) to container 8000.
"$OPS_PY" - "$T/default.yml" 8000 "$T/8080.yml" 8080 <<'PY' || pdm_fail "scorer port mapping is wrong"
import sys, yaml
def mappings(service):
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append((str(p.get("host_ip", "")), int(p["published"]), int(p["target"])))
        else:  # short syntax [IP:]HOST:CONTAINER[/proto]
            parts = str(p).split("/")[0].split(":")
            out.append((":".join(parts[:-2]), int(parts[-2]), int(parts[-1])))
    return out
ok = True
for file, host in zip(sys.argv[1::2], sys.argv[2::2]):
    got = mappings(yaml.safe_load(open(file))["services"]["scorer"])
    if [(h, c) for _, h, c in got] != [(int(host), 8000)]:
        print(f"{file}: scorer ports {got}, want host {host} -> 8000"); ok = False
sys.exit(0 if ok else 1)
PY

# pdm programs' option names, for the PDM_* variables compose passes them.
"$PDM_BIN/pdm-scorer" --help >"$T/scorer.help"
"$PDM_BIN/pdm-producer" --help >"$T/producer.help"

"$OPS_PY" - "$T/default.yml" "$PDM_SOURCE_DIR" "$T/scorer.help" "$T/producer.help" <<'PY' || pdm_fail "compose wiring check failed"
import os, re, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
root = sys.argv[2]
scorer_help, producer_help = open(sys.argv[3]).read(), open(sys.argv[4]).read()
svc = cfg["services"]
errs = []
def env(name):
    e = svc[name].get("environment", {})
    if isinstance(e, list):
        e = dict(x.split("=", 1) if "=" in x else (x, None) for x in e)
    return e
for s in ["kafka", "kafka-init", "redis", "trainer", "scorer", "producer", "replay", "prometheus", "grafana"]:
    if s not in svc:
        errs.append(f"no service {s}")

k = env("kafka")
if not svc["kafka"]["image"].startswith("apache/kafka:"):
    errs.append(f"kafka image {svc['kafka']['image']}")
want = {"KAFKA_PROCESS_ROLES": "broker,controller", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1", "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER"}
for key, value in want.items():
    if str(k.get(key)) != value:
        errs.append(f"kafka {key}={k.get(key)}, want {value}")
node = str(k.get("KAFKA_NODE_ID"))
voters = str(k.get("KAFKA_CONTROLLER_QUORUM_VOTERS", ""))
listeners = dict(re.findall(r"([A-Z_]+)://[^:,]*:(\d+)", str(k.get("KAFKA_LISTENERS", ""))))
if voters != f"{node}@kafka:{listeners.get('CONTROLLER')}":
    errs.append(f"quorum voters {voters} is not node {node} on the CONTROLLER listener {listeners}")
if not k.get("CLUSTER_ID"):
    errs.append("kafka has no CLUSTER_ID")
adv = dict(re.findall(r"([A-Z_]+)://([^,]+)", str(k.get("KAFKA_ADVERTISED_LISTENERS", ""))))
brokers = env("scorer").get("PDM_BROKERS")
if brokers != "kafka:9092" or adv.get("PLAINTEXT") != brokers or listeners.get("PLAINTEXT") != "9092":
    errs.append(f"scorer PDM_BROKERS={brokers} is not kafka's advertised PLAINTEXT listener {adv}")

redis_cmd = " ".join(map(str, svc["redis"].get("command", [])))
for opt in ["--appendonly yes", "--appendfsync everysec", "--maxmemory-policy volatile-ttl"]:
    if opt not in redis_cmd:
        errs.append(f"redis command lacks {opt}: {redis_cmd}")
if not any(str(v).split(":")[1:2] == ["/data"] for v in svc["redis"].get("volumes", [])):
    errs.append(f"redis /data is not a volume: {svc['redis'].get('volumes')}")
if env("scorer").get("PDM_REDIS_URL") != "redis://redis:6379":
    errs.append(f"scorer PDM_REDIS_URL={env('scorer').get('PDM_REDIS_URL')}")

dep = svc["scorer"].get("depends_on", {})
want_dep = {"kafka-init": "service_completed_successfully", "redis": "service_healthy",
            "trainer": "service_completed_successfully"}
for s, cond in want_dep.items():
    if dep.get(s, {}).get("condition") != cond:
        errs.append(f"scorer depends_on {s}: {dep.get(s)}, want {cond}")
for s in ["scorer", "trainer", "producer", "replay"]:
    b = svc[s].get("build", {})
    df = os.path.join(b.get("context", ""), b.get("dockerfile", ""))
    if os.path.realpath(df) != os.path.realpath(f"{root}/ops/Dockerfile"):
        errs.append(f"{s} is not built from ops/Dockerfile: {b}")
    if svc[s]["image"] != svc["scorer"]["image"]:
        errs.append(f"{s} image {svc[s]['image']} differs from the scorer's")
models = [v for v in svc["scorer"].get("volumes", []) if "/var/lib/pdm/models" in str(v)]
if not models or env("scorer").get("PDM_MODEL") != "/var/lib/pdm/models":
    errs.append(f"scorer PDM_MODEL {env('scorer').get('PDM_MODEL')} is not the models volume {models}")
if not any(str(v).startswith("models:/var/lib/pdm/models") for v in svc["trainer"].get("volumes", [])):
    errs.append("trainer does not write the models volume")

# PDM_* given to pdm programs are their options.
scorer_env = set(re.findall(r"env (PDM_[A-Z_]+)", scorer_help))
for key in env("scorer"):
    base = key[:-5] if key.endswith("_FILE") else key
    if base not in scorer_env:
        errs.append(f"scorer environment {key} is no pdm-scorer option")
producer_env = set(re.findall(r"env (PDM_[A-Z_]+)", producer_help))
producer_opts = set(re.findall(r"--([a-z][a-z0-9-]*)", producer_help))
for s, mode in [("producer", "simulate"), ("replay", "replay")]:
    cmd = [str(c) for c in svc[s]["command"]]
    if svc[s].get("entrypoint") != ["pdm-producer"] or cmd[0] != mode:
        errs.append(f"{s}: {svc[s].get('entrypoint')} {cmd}")
    for opt in [c[2:] for c in cmd if c.startswith("--")]:
        if opt not in producer_opts:
            errs.append(f"{s}: pdm-producer has no --{opt}")
    for key in env(s):
        if key not in producer_env:
            errs.append(f"{s} environment {key} is no pdm-producer option")
    if svc[s].get("profiles") in (None, []):
        errs.append(f"{s} is not in a profile (it would run in every deployment)")
    if (svc[s]["depends_on"].get("kafka-init") or {}).get("condition") != "service_completed_successfully":
        errs.append(f"{s} does not wait for the topics")
if svc["trainer"].get("entrypoint") != ["pdm-bootstrap-model"]:
    errs.append(f"trainer entrypoint {svc['trainer'].get('entrypoint')}")

script = " ".join(map(str, svc["kafka-init"].get("command", [])))
topics = ["pdm.telemetry", "pdm.errors", "pdm.maintenance", "pdm.failures", "pdm.machines", "pdm.risk", "pdm.dlq"]
for t in topics:
    if t not in script:
        errs.append(f"kafka-init does not create {t}")
if "--partitions 6" not in script or "--if-not-exists" not in script:
    errs.append("kafka-init does not create 6 partitions idempotently")
if (svc["kafka-init"]["depends_on"].get("kafka") or {}).get("condition") != "service_healthy":
    errs.append("kafka-init does not wait for a healthy kafka")

# Prometheus scrapes the scorer service on its container port.
prom = yaml.safe_load(open(f"{root}/ops/prometheus/prometheus.yml"))
job = [j for j in prom["scrape_configs"] if j["job_name"] == "pdm-scorer"][0]
targets = [t for sc in job.get("static_configs", []) for t in sc["targets"]]
if targets != ["scorer:8000"]:
    errs.append(f"pdm-scorer targets {targets}, want the compose service scorer:8000")
prom_mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in svc["prometheus"]["volumes"]}
if os.path.realpath(prom_mounts.get("/etc/prometheus", "")) != os.path.realpath(f"{root}/ops/prometheus"):
    errs.append(f"ops/prometheus is not mounted at /etc/prometheus: {prom_mounts}")
if "--config.file=/etc/prometheus/prometheus.yml" not in svc["prometheus"].get("command", []):
    errs.append("prometheus does not read /etc/prometheus/prometheus.yml")

# Every bind-mounted path of the repository exists (the replay data is the user's).
for name, s in svc.items():
    for v in s.get("volumes", []):
        src = str(v).split(":")[0]
        if src.startswith("/") and name != "replay" and not os.path.exists(src):
            errs.append(f"{name}: bind mount source {src} does not exist")

for e in errs:
    print(e)
print(f"{len(svc)} services, {len(errs)} problems")
sys.exit(1 if errs else 0)
PY
echo "ops_compose: ok"
