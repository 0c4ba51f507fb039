"""AWS Lambda entry point for insights: API Gateway v1/v2, Function URL and ALB events."""

from apig_wsgi import make_lambda_handler

from services.insights.wsgi import app

# The app is built at import, in Lambda's init phase; one invocation = one request, no gunicorn.
handler = make_lambda_handler(app, binary_support=True)
