# Two images from one file (docs/deploy.md):
#   docker build --target app -t patent-app .          the app server: Streamlit and the phones' routes, no TensorFlow
#   docker build --target training -t patent-train .   the app plus Keras/TensorFlow: patent-train, patent-evaluate
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PATENT_DATA_DIR=/data OPENBLAS_NUM_THREADS=1
WORKDIR /app
COPY requirements-app.txt ./
RUN pip install -r requirements-app.txt
COPY . .
RUN pip install --no-deps -e . && useradd --create-home --uid 1000 quiz && mkdir -p /data && chown -R quiz /data models
USER quiz
EXPOSE 8501
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"
CMD ["streamlit", "run", "streamlit_app.py", "--server.address", "0.0.0.0", "--server.port", "8501", \
     "--server.headless", "true", "--browser.gatherUsageStats", "false"]

FROM app AS training
USER root
COPY requirements-training.txt ./
RUN pip install -r requirements-training.txt
USER quiz
CMD ["patent-train", "--help"]
