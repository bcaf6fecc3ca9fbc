"""The HTTP shell: flask-smorest blueprints (blueprint.Blueprint), marshmallow schemas, problem+json."""
