"""The Blueprint every native API module uses: flask-smorest's, with a stricter argument parser.

webargs ignores unknown query parameters by default (its `query` location excludes them, whatever
the schema says), so `GET /api/v1/tasks?candidate_gruop=x` would silently answer the unfiltered
list. Here every location follows the schema's own `unknown` setting: Strict schemas (server/api/
schemas.py) refuse unknown query parameters with 422, naming them, as they refuse unknown body fields.
"""

from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser


class SchemaRulesParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = dict.fromkeys(FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = SchemaRulesParser()
