"""The demo org's build files: Dockerfiles, Compose files and scripts, in the versions its history goes through.

Each text is what a team would plausibly have written at that point of the story (see `org.py`): the
comments of the story live there, the files here only say what changed between versions by their names.
"""

from __future__ import annotations

# -- payments (microservice) ---------------------------------------------------------------------
# The one deliberate secret of the demo (DB_PASSWORD): redaction must keep its value out of the database.
PAY_API_V1 = """\
FROM python:3.12
RUN apt-get update && apt-get install -y gcc build-essential libpq-dev
COPY . /app
RUN pip install -r /app/requirements.txt
ENV DB_PASSWORD=changeme
CMD ["python", "/app/main.py"]
"""
PAY_API_V2 = """\
# syntax=docker/dockerfile:1.7
ARG PYTHON=python:3.12-slim
FROM ${PYTHON} AS build
RUN --mount=type=cache,target=/root/.cache/pip pip install --prefix=/install flask==3.0 psycopg[binary]
FROM ${PYTHON}
COPY --from=build /install /usr/local
COPY app/ /app/
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s CMD python -c "import urllib.request as u; u.urlopen('http://localhost:8080/health')"
CMD ["python", "/app/main.py"]
"""
PAY_API_V3 = PAY_API_V2.replace("python:3.12-slim", "registry.demo.example/base/python:3.13-slim")
PAY_API_COMPOSE = """\
services:
  api:
    build: .
    image: registry.demo.example/payments/api:dev
    ports: ["8080:8080"]
    environment:
      DB_HOST: db
    depends_on: [db]
  db:
    image: postgres:16
    environment:
      POSTGRES_DB: payments
"""

LEDGER_SINGLE = """\
FROM golang:1.22
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /usr/local/bin/ledger ./cmd/ledger
EXPOSE 9090
CMD ["ledger"]
"""
LEDGER_MULTI = """\
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/ledger ./cmd/ledger
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/ledger /ledger
USER 65532
EXPOSE 9090
ENTRYPOINT ["/ledger"]
"""

GATEWAY_V1 = """\
FROM node:20
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build
EXPOSE 3000
CMD ["node", "dist/server.js"]
"""
GATEWAY_V2 = """\
FROM node:20 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev
FROM node:20-slim
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules ./node_modules
USER node
EXPOSE 3000
CMD ["node", "dist/server.js"]
"""


def gateway_compose(depends: bool, fraud: bool) -> str:
    """The gateway's local stack: it reaches api and ledger by name (and, later, fraud)."""
    env = "      API_URL: http://api:8080\n      LEDGER_ADDR: ledger:9090\n"
    env += "      FRAUD_URL: http://fraud:8000\n" if fraud else ""
    text = (
        "services:\n  gateway:\n    build: .\n    image: registry.demo.example/payments/gateway:dev\n"
        '    ports: ["3000:3000"]\n    environment:\n' + env
    )
    text += "    depends_on: [api, ledger]\n" if depends else ""
    text += "  api:\n    image: registry.demo.example/payments/api:1.4.0\n"
    text += "  ledger:\n    image: registry.demo.example/payments/ledger:2.1.0\n"
    text += "  fraud:\n    image: registry.demo.example/payments/fraud:0.3.0\n" if fraud else ""
    return text


# The same leading steps as the platform team's python base (base-images): a shared-base candidate.
FRAUD_V1 = """\
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir --upgrade pip
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY models/ /srv/models/
COPY fraud/ /srv/fraud/
USER 10001
CMD ["python", "-m", "fraud.serve"]
"""
FRAUD_V2 = FRAUD_V1.replace("COPY models/ /srv/models/\n", "VOLUME /srv/models\n")

# -- storefront (monolith) -----------------------------------------------------------------------
MONOLITH = """\
ARG BASE=eclipse-temurin
ARG JDK_VERSION=21
FROM maven:3.9-eclipse-temurin-${JDK_VERSION} AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -q dependency:go-offline
COPY src ./src
RUN mvn -q package -DskipTests
FROM ${BASE}:${JDK_VERSION}-jre
COPY --from=build /src/target/app.jar /app.jar
ENTRYPOINT ["java", "-jar", "/app.jar"]
"""


def billing_compose(adminer_profile: bool, worker: bool) -> str:
    """app reaches db without depends_on throughout; the invoice worker added later repeats the mistake."""
    text = 'services:\n  app:\n    build: .\n    ports: ["8080:8080"]\n    environment:\n      DB_HOST: db\n'
    if worker:
        text += (
            "  invoice-worker:\n    build: .\n"
            '    command: ["java", "-cp", "/app.jar", "billing.InvoiceWorker"]\n'
            "    environment:\n      DB_HOST: db\n      QUEUE_URL: amqp://queue:5672\n"
            "  queue:\n    image: rabbitmq:3.13-management\n"
        )
    text += "  db:\n    image: postgres:16\n  adminer:\n    image: adminer\n"
    return text + ("    profiles: [debug]\n" if adminer_profile else "")


SHOP_V1 = """\
FROM php:8.3-apache
RUN apt-get update && apt-get install -y libpng-dev libzip-dev libicu-dev unzip
RUN docker-php-ext-install gd zip intl pdo_mysql opcache
COPY --from=composer:2 /usr/bin/composer /usr/bin/composer
WORKDIR /var/www/html
COPY composer.json composer.lock ./
RUN composer install --no-dev --no-scripts --prefer-dist
COPY . .
EXPOSE 80
"""
SHOP_V2 = SHOP_V1.replace("libicu-dev unzip\n", "libicu-dev unzip \\\n && rm -rf /var/lib/apt/lists/*\n")
SHOP_CRON = """\
FROM ubuntu:22.04
RUN apt-get update && apt-get install -y cron php-cli php-mysql curl
COPY docker/cron/crontab /etc/cron.d/shop
CMD ["cron", "-f"]
"""
# Settings a PHP shop grows over the years: more than the monolith profile's 25 inline variables.
SHOP_SETTINGS = {
    "APP_ENV": "dev", "APP_DEBUG": "1", "APP_URL": "http://localhost:8080", "APP_LOCALE": "en_US",
    "APP_TIMEZONE": "UTC", "APP_CURRENCY": "EUR", "DB_HOST": "db", "DB_PORT": "3306", "DB_NAME": "shop",
    "DB_USER": "shop", "REDIS_HOST": "cache", "REDIS_PORT": "6379", "SESSION_DRIVER": "redis",
    "CACHE_DRIVER": "redis", "QUEUE_DRIVER": "sync", "MAIL_HOST": "localhost", "MAIL_PORT": "1025",
    "MAIL_FROM": "shop@demo.example", "LOG_LEVEL": "debug", "LOG_CHANNEL": "stderr", "CATALOG_PAGE_SIZE": "48",
    "CART_TTL_MINUTES": "120", "SEARCH_BACKEND": "mysql", "IMAGE_CDN": "http://localhost:8080/media",
    "FEATURE_WISHLIST": "1", "FEATURE_REVIEWS": "0", "FEATURE_GIFT_CARDS": "1", "TAX_REGION": "eu",
}  # fmt: skip
SHOP_ENV_FILE = "".join(f"{k}={v}\n" for k, v in SHOP_SETTINGS.items())


def shop_compose(env_file: bool) -> str:
    """The shop's stack; its long inline environment moves to an env file later."""
    text = "services:\n  web:\n    build: .\n    image: registry.demo.example/storefront/shop:dev\n"
    text += '    ports: ["8080:80"]\n    depends_on: [db, cache]\n'
    if env_file:
        text += "    env_file: [shop.env]\n"
    else:
        text += "    environment:\n" + "".join(f'      {k}: "{v}"\n' for k, v in SHOP_SETTINGS.items())
    return (
        text
        + "  db:\n    image: mysql:8.4\n    environment:\n      MYSQL_DATABASE: shop\n  cache:\n    image: redis:7\n"
    )


FRONTEND = """\
FROM node:20 AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
FROM deps AS build
COPY . .
RUN npm run build
FROM nginx:1.27-alpine
COPY --from=build /src/dist /usr/share/nginx/html
EXPOSE 80
"""

# -- data (datascience) --------------------------------------------------------------------------
NOTEBOOKS_V1 = """\
FROM jupyter/scipy-notebook:latest
USER root
RUN apt-get update && apt-get install -y --no-install-recommends graphviz && rm -rf /var/lib/apt/lists/*
USER jovyan
RUN pip install torch torchvision scikit-learn==1.5 xgboost
COPY data/ /home/jovyan/data/
"""
NOTEBOOKS_V2 = NOTEBOOKS_V1.replace("pip install torch", "pip install --no-cache-dir torch")
NOTEBOOKS_V3 = NOTEBOOKS_V2.replace("xgboost\n", "xgboost\nRUN pip install lightgbm==4.3 shap\n")
NOTEBOOK_COMPOSE = 'services:\n  lab:\n    build: docker\n    ports: ["8888:8888"]\n'

TRAINING_V1 = """\
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
RUN apt-get update && apt-get install -y python3 python3-pip git
RUN pip3 install torch==2.3.1 torchvision==0.18.1 lightning==2.3 pandas pyarrow
WORKDIR /opt/train
COPY train/ /opt/train/
CMD ["python3", "-m", "train.main"]
"""
TRAINING_V2 = """\
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip git \\
 && rm -rf /var/lib/apt/lists/*
RUN pip3 install --no-cache-dir torch==2.3.1 torchvision==0.18.1 lightning==2.3 pandas pyarrow
RUN useradd --uid 1000 --create-home trainer
WORKDIR /opt/train
COPY train/ /opt/train/
USER 1000
CMD ["python3", "-m", "train.main"]
"""
TRAINING_V3 = TRAINING_V2.replace("COPY train/", "COPY checkpoints/ /opt/checkpoints/\nCOPY train/")

AIRFLOW = """\
FROM apache/airflow:2.9.2
USER root
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless \\
 && rm -rf /var/lib/apt/lists/*
USER airflow
COPY requirements.txt /
RUN pip install --no-cache-dir -r /requirements.txt
COPY dags/ /opt/airflow/dags/
"""
PIPELINE_WORKER = """\
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir --upgrade pip
WORKDIR /srv
COPY worker/requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY worker/ /srv/worker/
USER 10001
CMD ["python", "-m", "worker"]
"""
_AIRFLOW_ENV = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    "AIRFLOW__CORE__DAGS_FOLDER": "/opt/airflow/dags", "AIRFLOW__CORE__PARALLELISM": "16",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://postgres/airflow",
    "AIRFLOW__CELERY__BROKER_URL": "redis://redis:6379/0", "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://postgres/airflow",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO", "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "30",
    "AIRFLOW__WEBSERVER__EXPOSE_CONFIG": "false", "AIRFLOW__WEBSERVER__WORKERS": "2",
}  # fmt: skip


def airflow_compose() -> str:
    """Airflow's usual local stack: every service repeats the long environment inline (more than 10)."""
    env = "    environment:\n" + "".join(f'      {k}: "{v}"\n' for k, v in _AIRFLOW_ENV.items())
    return (
        "services:\n"
        f"  webserver:\n    build: .\n    image: registry.demo.example/data/airflow:dev\n    command: webserver\n"
        f'    ports: ["8080:8080"]\n{env}    depends_on: [postgres]\n'
        f"  scheduler:\n    image: registry.demo.example/data/airflow:dev\n    command: scheduler\n"
        f"{env}    depends_on: [postgres, redis]\n"
        "  postgres:\n    image: postgres:16\n    environment:\n      POSTGRES_DB: airflow\n"
        "  redis:\n    image: redis:7\n"
    )


PIPELINE_BUILD_SH = """\
#!/bin/sh
set -e
docker build -t registry.demo.example/data/airflow:dev .
docker build -t registry.demo.example/data/worker:dev -f worker/Dockerfile .
docker build -t registry.demo.example/data/backfill:dev -f backfill/Dockerfile .
"""
PIPELINE_BAKE = """\
group "default" { targets = ["airflow", "worker"] }
target "airflow" { tags = ["registry.demo.example/data/airflow:dev"] }
target "worker" {
  dockerfile = "worker/Dockerfile"
  tags = ["registry.demo.example/data/worker:dev"]
}
"""
PIPELINE_MAKE_EXEC = "trigger:\n\tdocker compose exec scheduler airflow dags trigger nightly_etl\n"
PIPELINE_MAKE_RUN = "trigger:\n\tdocker compose run --rm scheduler airflow dags trigger nightly_etl\n"

# -- platform (tooling) --------------------------------------------------------------------------
TOOLS = """\
FROM alpine:3.20
RUN apk add curl jq git openssh-client bash make python3 py3-pip terraform kubectl helm
RUN <<EOF
set -eux
pip install --break-system-packages ansible awscli
EOF
ENTRYPOINT ["/bin/bash"]
"""
RUNNER = """\
services:
  runner:
    image: gitlab/gitlab-runner:latest
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - ./config:/etc/gitlab-runner
"""
PY_BASE = """\
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir --upgrade pip
RUN useradd --uid 10001 --create-home app
USER app
"""
PY_BASE_313 = PY_BASE.replace("3.12", "3.13")
