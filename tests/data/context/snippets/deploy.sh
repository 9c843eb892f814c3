#!/usr/bin/env bash
set -euo pipefail
source ./lib/common.sh

build_image() {
  docker build -t "$1" .
}

deploy() {
  build_image "app:latest"
  kubectl apply -f deploy.yaml
}

deploy
