"""One module per platform; each registers its reports with ``collectors.registry.register``.

Every module in this package is imported by ``registry.reports()``: adding a platform is adding
a module here, nothing else.
"""
