#!/usr/bin/env bash
# Example: EvoPress on Kubernetes with GPU executors. The image must hold Java 17 and this project's
# spark-job/target/evocompress.jar with spark-job/target/lib/ (built with -Pcuda); models and outputs on
# a shared Hadoop file system (s3a:// with hadoop-aws on the classpath, or hdfs://).
# Not run in CI here (no Kubernetes on this machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
deploy/spark-submit --master k8s://https://kubernetes.default.svc:443 --deploy-mode client \
  --conf spark.kubernetes.container.image=registry.example.com/evocompress:0.1.0-cuda \
  --conf spark.executor.instances=8 \
  --conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1 \
  --conf spark.executor.resource.gpu.vendor=nvidia.com \
  --conf spark.executor.resource.gpu.discoveryScript=/opt/evocompress/deploy/gpu-discovery.sh \
  -- search --config "${1:-conf/evopress-sparsity-70.yaml}" \
  --set model=s3a://models/llama --set database.path=s3a://evocompress/db/llama-s70 \
  --set output=s3a://evocompress/runs/llama-s70 "${@:2}"
