"""The admin site's names: the product, not Django's "Django administration".

Set on Django's default site (`admin.site`, which config/urls.py serves)
when core's admin is imported by the admin's discovery, before any page is
drawn.
"""

from django.contrib import admin

#: The header of every admin page, and the start of each page's <title>.
SITE_HEADER = "LIS administration"
SITE_TITLE = "LIS administration"
#: The heading of the admin's front page.
INDEX_TITLE = "Labs, patients and reports"


def name_the_site(site: admin.AdminSite) -> None:
    """Give `site` the product's names."""
    site.site_header = SITE_HEADER
    site.site_title = SITE_TITLE
    site.index_title = INDEX_TITLE
