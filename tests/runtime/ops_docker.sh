#!/usr/bin/env bash
# ops_docker: ops/Dockerfile is right by construction (there is no Docker
# engine to build it here). Both stages are Debian 12; the build stage
# installs the -dev packages and runs the project's CMake build; every program
# the image ships is a CMake target and built here; the runtime stage
# installs only runtime packages, each one the library package a -dev package
# of the build stage depends on, known to apt at the same version; every
# shared library the built programs load (ldd) belongs to one of those
# packages or their dependencies (or to the base image), so the image starts;
# COPY sources exist and are not excluded by .dockerignore, which keeps build
# trees, .git and .pdm out; the image runs as a fixed non-root uid, exposes
# 8000, has a HEALTHCHECK on /healthz and the scorer as its entrypoint.
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/runtime/ops_lib.sh"
pdm_tmpdir >/dev/null
ops_require apt-cache dpkg-query ldd
T=$PDM_TMP
D=$OPS_DIR/Dockerfile

# Parse the Dockerfile once: stages, apt packages per stage, programs, COPYs.
"$OPS_PY" - "$D" "$T" <<'PY' || pdm_fail "Dockerfile structure check failed"
import json, re, sys
text = open(sys.argv[1]).read()
out = sys.argv[2]
lines = re.sub(r"\\\n", " ", text).splitlines()
lines = [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]
errs = []
args, stages, cur = {}, [], None
for l in lines:
    word, _, rest = l.partition(" ")
    word = word.upper()
    if word == "ARG":
        name, _, default = rest.partition("=")
        args.setdefault(name.strip(), default.strip().strip('"'))
    if word == "FROM":
        m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), m.group(1))
        cur = {"image": image, "name": m.group(2), "apt": [], "copy": [], "cmds": []}
        stages.append(cur)
        continue
    if cur is None:
        continue
    cur["cmds"].append((word, rest))
    if word == "RUN" and "apt-get install" in rest:
        seg = rest.split("apt-get install", 1)[1].split("&&")[0]
        cur["apt"] += [w for w in seg.split() if not w.startswith("-")]
    if word == "COPY":
        cur["copy"].append(rest)
if len(stages) != 2:
    errs.append(f"{len(stages)} stages, want build + runtime")
build, run = stages[0], stages[-1]
if build["image"] != "debian:bookworm" or build["name"] != "build":
    errs.append(f"build stage FROM {build['image']} AS {build['name']}")
if run["image"] != "debian:bookworm-slim":
    errs.append(f"runtime stage FROM {run['image']}")
dev = ["build-essential", "cmake", "pkg-config", "librdkafka-dev", "libavro-dev", "libxgboost-dev",
       "libhiredis-dev", "libmicrohttpd-dev", "libcjson-dev", "libcmocka-dev", "nettle-dev",
       "libyaml-dev"]
for p in dev:
    if p not in build["apt"]:
        errs.append(f"build stage does not install {p}")
for p in run["apt"]:
    if p.endswith("-dev") or p in ("build-essential", "cmake", "pkg-config", "gcc"):
        errs.append(f"runtime stage installs build package {p}")
build_runs = " ".join(r for w, r in build["cmds"] if w == "RUN")
for step in ["cmake -S . -B build -DCMAKE_BUILD_TYPE=Release", "cmake --build build"]:
    if step not in build_runs:
        errs.append(f"build stage does not run `{step}`")
programs = args.get("PDM_PROGRAMS", "").split()
if "pdm-scorer" not in programs:
    errs.append(f"PDM_PROGRAMS {programs} lacks pdm-scorer")
copies = []
for stage in stages:
    for c in stage["copy"]:
        parts = c.split()
        if any(p.startswith("--from") for p in parts):
            continue
        copies += [p for p in parts[:-1] if not p.startswith("--")]
final = dict((w, r) for w, r in run["cmds"])  # last of each instruction
user = final.get("USER", "")
uid = user.split(":")[0]
if not uid.isdigit() or int(uid) == 0:
    errs.append(f"USER {user!r} is not a fixed non-root uid")
if "8000" not in final.get("EXPOSE", "").split():
    errs.append(f"EXPOSE {final.get('EXPOSE')}")
hc = final.get("HEALTHCHECK", "")
if "CMD" not in hc or "/healthz" not in hc:
    errs.append(f"HEALTHCHECK {hc!r} does not check /healthz")
m = re.search(r'CMD \["([^"]+)"', hc)
if m and not any(c.split()[-1].endswith("/" + m.group(1)) for c in run["copy"]):
    errs.append(f"the health check {m.group(1)} is not copied into the image")
if final.get("ENTRYPOINT", "").replace(" ", "") != '["pdm-scorer"]':
    errs.append(f"ENTRYPOINT {final.get('ENTRYPOINT')}")
json.dump({"runtime": run["apt"], "programs": programs, "copies": copies}, open(f"{out}/docker.json", "w"))
for e in errs:
    print(e)
sys.exit(1 if errs else 0)
PY
runtime=$("$OPS_PY" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["runtime"]))' "$T/docker.json")
programs=$("$OPS_PY" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["programs"]))' "$T/docker.json")
[ -n "$runtime" ] || pdm_fail "no runtime packages found"

# Runtime packages: each the library a -dev package of the build stage
# depends on, known to apt at that package's version; and every -dev library
# has its runtime package (apt-cache is called once per question: a call
# costs 0.4 s).
devs="librdkafka-dev libavro-dev libxgboost-dev libhiredis-dev libmicrohttpd-dev libcjson-dev"
devs+=" nettle-dev libyaml-dev libgnutls28-dev"
# shellcheck disable=SC2086
apt-cache depends $devs >"$T/dev-depends.txt" 2>/dev/null || pdm_fail "apt-cache depends $devs failed"
# shellcheck disable=SC2086
apt-cache policy $runtime >"$T/policy.txt" 2>/dev/null
for pkg in $runtime; do
  owner=$(awk -v p="$pkg" '/^[^ ]/ {dev = $1} $1 == "Depends:" && $2 == p {print dev}' "$T/dev-depends.txt" | head -n 1)
  [ -n "$owner" ] || pdm_fail "runtime package $pkg is not what any -dev package depends on"
  v_dev=$(dpkg-query -W -f '${Version}' "$owner" 2>/dev/null) || pdm_fail "$owner is not installed"
  v_lib=$(awk -v p="$pkg:" '/^[^ ]/ {cur = $1} cur == p && $1 == "Installed:" {print $2}' "$T/policy.txt")
  [ "$v_lib" = "$v_dev" ] || pdm_fail "$pkg ${v_lib:-unknown to apt} does not match $owner $v_dev"
done
for dev in $devs; do
  found=0
  for lib in $(awk -v d="$dev" '/^[^ ]/ {cur = $1} cur == d && $1 == "Depends:" {print $2}' "$T/dev-depends.txt"); do
    case " $runtime " in *" $lib "*) found=1 ;; esac
  done
  [ $found = 1 ] || pdm_fail "the runtime stage installs no library package of $dev"
done

# What the runtime packages bring, and what any Debian image has.
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $runtime 2>/dev/null | grep -v '^ ' | sort -u >"$T/closure.txt"
grep -qx libc6 "$T/closure.txt" || pdm_fail "dependency closure lacks libc6: $(tr '\n' ' ' <"$T/closure.txt")"

# Every program shipped is a CMake target of the project's CMake files (not
# those of build trees), built here, and loads only libraries from that
# closure (sanitizer runtimes aside: the image builds without them).
find "$PDM_SOURCE_DIR" \( -name .git -o -name .pdm -o -name 'build' -o -name 'build-*' -o -path "$PDM_BUILD_DIR" \) -prune \
  -o \( -name CMakeLists.txt -o -name '*.cmake' \) -type f -print >"$T/cmakefiles.txt"
mapfile -t cmakefiles <"$T/cmakefiles.txt"
: >"$T/libs.txt"
for prog in $programs; do
  grep -qsF "add_executable($prog " "${cmakefiles[@]}" \
    || pdm_fail "$prog (PDM_PROGRAMS) is not an add_executable target"
  [ -x "$PDM_BIN/$prog" ] || pdm_fail "$prog is not built in $PDM_BIN"
  ldd "$PDM_BIN/$prog" >"$T/ldd.txt" || pdm_fail "ldd $prog failed"
  ! grep -q "not found" "$T/ldd.txt" || pdm_fail "$prog: $(grep 'not found' "$T/ldd.txt")"
  awk -v p="$prog" '/=>/ {print p, $3}' "$T/ldd.txt" >>"$T/libs.txt"
done
# One dpkg -S for all libraries (by the path ldd prints, else the file it
# resolves to: /lib and /usr/lib are one directory on Debian 12).
awk '{print $2}' "$T/libs.txt" | sort -u >"$T/paths.txt"
while read -r lib; do echo "$lib $(readlink -f "$lib")"; done <"$T/paths.txt" >"$T/realpaths.txt"
# shellcheck disable=SC2046
dpkg -S $(cat "$T/paths.txt") $(awk '{print $2}' "$T/realpaths.txt" | sort -u) 2>/dev/null \
  | grep ': /' >"$T/owners.txt" || true
while read -r prog lib; do
  case ${lib##*/} in libasan.* | libubsan.* | liblsan.* | libtsan.*) continue ;; esac
  real=$(awk -v l="$lib" '$1 == l {print $2}' "$T/realpaths.txt")
  owner=$(awk -v a="$lib" -v b="$real" '{p = $0; sub(/^[^ ]+ /, "", p)} p == a || p == b {print $1; exit}' \
    "$T/owners.txt" | cut -d: -f1 | sed 's/,.*//')
  [ -n "$owner" ] || pdm_fail "$prog loads $lib, which no Debian package ships"
  grep -qx "$owner" "$T/closure.txt" \
    || [ "$(dpkg-query -W -f '${Priority}' "$owner")" = required ] \
    || pdm_fail "$prog loads $lib from $owner, which the runtime stage does not install"
done <"$T/libs.txt"

# COPY sources exist in the build context and .dockerignore keeps them.
for pat in .git build 'build-*' .pdm; do
  grep -qx -- "$pat" "$PDM_SOURCE_DIR/.dockerignore" || pdm_fail ".dockerignore does not exclude $pat"
done
for src in $("$OPS_PY" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["copies"]))' "$T/docker.json"); do
  [ -e "$PDM_SOURCE_DIR/$src" ] || pdm_fail "COPY source $src does not exist"
  [ "$src" = . ] && continue
  while read -r pat; do
    case $pat in '' | '#'*) continue ;; esac
    # shellcheck disable=SC2254
    case $src in $pat | $pat/*) pdm_fail "COPY source $src is excluded by .dockerignore ($pat)" ;; esac
  done <"$PDM_SOURCE_DIR/.dockerignore"
  case $src in *.sh) bash -n "$PDM_SOURCE_DIR/$src" || pdm_fail "$src has a syntax error" ;; esac
done
# The build context has what the build stage needs.
for f in CMakeLists.txt cmake/PdmDeps.cmake; do
  [ -e "$PDM_SOURCE_DIR/$f" ] || pdm_fail "build context lacks $f"
done
echo "ops_docker: ok ($(wc -w <<<"$programs") programs, runtime packages: $runtime)"
