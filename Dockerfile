# The spacehpo image for workers, the dashboard and the init step (CUDA build of torch from PyPI).
FROM python:3.11-slim
WORKDIR /app
# A C compiler: torch.compile (inductor, Triton) builds kernels with it, so `--compile` works.
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir torch==2.14.1 torchvision==0.29.1
COPY pyproject.toml README.md ./
COPY cli ./cli
COPY data ./data
COPY model ./model
COPY hpo ./hpo
COPY storage ./storage
COPY bench ./bench
RUN pip install --no-cache-dir .
ENTRYPOINT []
