"""Built-in rule modules; each registers its rules with `piu.risk.registry.rule` on import."""
