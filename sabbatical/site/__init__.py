"""The published site: every public sprint, its failures, findings, artifacts, runs and notebooks, and the
reading pile as topics and a digest, as a static mkdocs-material site.

`generate` writes plain Markdown and images (gathered by the adapters `sprint_source`, `runs_source`,
`reading_source`); `config` merges the workspace's mkdocs.yml; `build` runs the engine, scans for secrets
and publishes into site/; `check` validates links; `serve` serves and rebuilds; `sanitise` makes untrusted
text inert; `notebooks` and `charts` make the images; `alt_text` describes them.
"""
