"""GenericApiCallLambda: render an API request template with Jinja2 and call the API."""
