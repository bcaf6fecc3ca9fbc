"""The travel clinic page: a form, the plan in plain words, a printable plan, an .ics file and the
yellow fever contraindication letter. See service/clinic/views.py."""

from .views import blp

__all__ = ["blp"]
