"""django-helpdesk, measured beside Amends by benchmarks/services.py.

A minimal Django project around django-helpdesk (``settings``, ``urls``) and the measuring
script (``run``), executed with the python of a separate virtualenv that has
``requirements.txt`` installed, so that it shares neither packages nor settings with Amends.
"""
