#!/usr/bin/env bash
# Several Hermes 4 replicas on one 8-GPU machine behind one OpenAI-compatible endpoint,
# routed by KV-cache overlap with NVIDIA Dynamo. See README.md next to this file.
set -euo pipefail

MODEL_DIR=${MODEL_DIR:-/models/Hermes-4-70B-FP8}
SERVED_NAME=${SERVED_NAME:-hermes-4-70b}
GPUS_PER_REPLICA=${GPUS_PER_REPLICA:-2}
REPLICAS=${REPLICAS:-4}
HTTP_PORT=${HTTP_PORT:-8000}
HERE=$(cd "$(dirname "$0")" && pwd)

pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait
}
trap cleanup EXIT INT TERM

# Dynamo's control plane: etcd for discovery, NATS with JetStream for KV events.
etcd --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --data-dir "${TMPDIR:-/tmp}/hermes-dynamo-etcd" &
pids+=($!)
nats-server -js -a 127.0.0.1 &
pids+=($!)

# The OpenAI-compatible front end, routing each request to the replica that already
# holds the longest prefix of its prompt.
python3 -m dynamo.frontend --router-mode kv --http-port "$HTTP_PORT" &
pids+=($!)

for ((replica = 0; replica < REPLICAS; replica++)); do
  first=$((replica * GPUS_PER_REPLICA))
  devices=$(seq -s, "$first" $((first + GPUS_PER_REPLICA - 1)))
  CUDA_VISIBLE_DEVICES=$devices python3 -m dynamo.trtllm \
    --model-path "$MODEL_DIR" \
    --served-model-name "$SERVED_NAME" \
    --extra-engine-args "$HERE/agg.yaml" \
    --publish-events-and-metrics &
  pids+=($!)
done

# Stop everything as soon as any part exits.
wait -n
