# The application image: Daphne by default; the Celery worker, beat and migrations run the same
# image with another command (see docker-compose.yml).

# Browser libraries (Chart.js), pinned by package-lock.json, fetched at build time: no CDN.
FROM node:20-slim AS vendor
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
    && mkdir -p vendor/chart.js \
    && cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/dist/chart.umd.js.map \
          node_modules/chart.js/LICENSE.md vendor/chart.js/

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=esanjeevani.settings

# gettext: msgfmt for compilemessages. fonts-noto-core: Devanagari for Hindi PDFs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext fonts-noto-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. pyproject declares dependencies
# only (no packages); constraints.txt pins every version.
COPY pyproject.toml constraints.txt ./
RUN pip install -c constraints.txt .

COPY . .
COPY --from=vendor /build/vendor/ static/vendor/

# Settings refuse to load without a SECRET_KEY: give these two build-time commands a random one
# that lives only for this RUN and is never stored in the image.
RUN export SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    && python manage.py compilemessages -v 0 \
    && python manage.py collectstatic --no-input -v 0

# Code and collected static files stay root-owned and read-only to the app; only media is writable.
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin esanjeevani \
    && mkdir -p /app/var/media \
    && chown esanjeevani:esanjeevani /app/var/media
USER esanjeevani

EXPOSE 8000
# No --proxy-headers: Daphne would take the client address from the left-most X-Forwarded-For
# entry, which the client writes. The app trusts PROXY_COUNT proxies itself (core/http.py).
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "esanjeevani.asgi:application"]
