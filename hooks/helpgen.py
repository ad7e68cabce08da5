"""MkDocs hooks (the ``hooks:`` key of mkdocs.yml). Thin: each one calls helpgen.site.

``helpgen build`` hands the hooks a prepared market build; a plain ``mkdocs build``
or ``mkdocs serve`` gets the default market (or ``HELPGEN_MARKET``).
"""

from __future__ import annotations

from mkdocs.plugins import event_priority

from helpgen import site


@event_priority(100)  # before Material's search plugin reads the theme language
def on_config(config):
    return site.hook_config(config)


def on_files(files, config):
    return site.hook_files(files, config)


def on_page_read_source(page, config):
    return site.hook_page_read_source(page, config)


def on_page_markdown(markdown, page, config, files):
    return site.hook_page_markdown(markdown, page, config)


def on_post_page(output, page, config):
    return site.hook_post_page(output, page, config)


def on_post_template(output_content, template_name, config):
    return site.hook_post_template(output_content, template_name, config)


def on_post_build(config):
    site.hook_post_build(config)
