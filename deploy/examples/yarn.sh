#!/usr/bin/env bash
# Example: EvoPress on a YARN cluster with GPU executors (one GPU per executor and per task).
# Build with the CUDA native library first: mvn -Pcuda -DskipTests package. Paths must be URIs that
# every executor can open (hdfs://, s3a://). Not run in CI here (no YARN on this machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/spark-submit --master yarn --deploy-mode client \
  --num-executors 8 --executor-cores 4 --executor-memory 48g \
  --conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1 \
  --conf spark.executor.resource.gpu.discoveryScript=deploy/gpu-discovery.sh \
  --files deploy/gpu-discovery.sh \
  -- search --config "${1:-conf/evopress-sparsity-70.yaml}" \
  --set model=hdfs://nn:8020/models/llama --set database.path=hdfs://nn:8020/evocompress/db/llama-s70 \
  --set output=hdfs://nn:8020/evocompress/runs/llama-s70 "${@:2}"
