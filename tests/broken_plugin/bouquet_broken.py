"""A plugin that fails in its hooks: the portal must keep working around it."""

from bouquet import hookimpl


@hookimpl
def bouquet_nav(ctx):
    raise RuntimeError("nav exploded")


@hookimpl
async def bouquet_alerts(ctx):
    raise ValueError("alerts exploded")
