"""The HTTP shell. Every flask-smorest blueprint reads JSON bodies with the strict parser (parsing.py):
set here, before any blueprint module declares its routes."""

import flask_smorest

from .parsing import StrictJsonParser

flask_smorest.Blueprint.ARGUMENTS_PARSER = StrictJsonParser()
