FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORTAL_VAR_DIR=/app/var
WORKDIR /app

COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt

COPY . .
# collectstatic needs settings to load; these throwaway values never reach runtime.
RUN DEBUG=false SECRET_KEY=build STRIPE_SECRET_KEY=build STRIPE_PUBLISHABLE_KEY=build \
    STRIPE_WEBHOOK_SECRET=build python manage.py collectstatic --noinput \
    && useradd --create-home portal && mkdir -p /app/var && chown portal /app/var
USER portal

EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-"]
