"""Loading plugins from the `bouquet` entry-point group and calling their hooks safely."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points, version
from types import ModuleType
from typing import Any

import pluggy

import bouquet.plugins.hookspecs as hookspecs
from bouquet.foundation.metrics import HOOK_FAILURES, HOOK_SECONDS

log = logging.getLogger("bouquet.plugins")

ENTRY_POINT_GROUP = "bouquet"
# Core features written as plugins, with the same hooks as everyone else (Datasette's "default
# plugins"): always registered, whatever BOUQUET_PLUGINS says, and listed on /-/plugins only with ?all=1.
DEFAULT_PLUGINS = ("bouquet.sso.plugin", "bouquet.patient.plugin", "bouquet.sso.oidc.plugin", "bouquet.sso.psc.plugin")


@dataclass
class PluginInfo:
    """What `/-/plugins` tells about one plugin."""

    name: str
    version: str | None
    module: str
    hooks: list[str] = field(default_factory=list)
    load_error: str | None = None
    failures: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    builtin: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "module": self.module,
            "hooks": self.hooks,
            "loaded": self.load_error is None,
            "load_error": self.load_error,
            "hook_failures": self.failures,
            "last_error": self.last_error,
            "builtin": self.builtin,
        }


@dataclass(frozen=True)
class HookResult:
    plugin: str
    value: Any


class Plugins:
    """The loaded plugins of one process. `call` and `acall` never let one plugin break the rest."""

    def __init__(self, names: list[str] | None = None, extra: Iterable[tuple[str, object]] = ()) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        for module_name in DEFAULT_PLUGINS:
            self.register(importlib.import_module(module_name), module_name, version("bouquet"), builtin=True)
        self._load_entry_points(names)
        for name, plugin in extra:
            self.register(plugin, name)

    def _load_entry_points(self, names: list[str] | None) -> None:
        available = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        wanted = sorted(available) if names is None else names
        for name in wanted:
            ep = available.get(name)
            if ep is None:
                log.error("plugin %s asked for in BOUQUET_PLUGINS is not installed", name)
                self.info[name] = PluginInfo(name, None, "?", load_error="not installed")
                continue
            version = ep.dist.version if ep.dist else None
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not stop the portal
                log.exception("plugin %s failed to load", name)
                self.info[name] = PluginInfo(name, version, ep.value, load_error=f"{type(exc).__name__}: {exc}")
                continue
            self.register(module, name, version)

    def register(self, plugin: object, name: str, version: str | None = None, *, builtin: bool = False) -> None:
        """Register a module or object implementing hooks, as an entry point would."""
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            log.exception("plugin %s failed to register", name)
            self.info[name] = PluginInfo(name, version, _module_name(plugin), load_error=f"{type(exc).__name__}: {exc}")
            return
        hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])
        self.info[name] = PluginInfo(name, version, _module_name(plugin), hooks, builtin=builtin)

    @property
    def names(self) -> list[str]:
        return [name for name, info in self.info.items() if info.load_error is None]

    def plugin(self, name: str) -> object | None:
        return self.pm.get_plugin(name)

    def _implementations(self, hook: str) -> list[pluggy.HookImpl]:
        # pluggy calls the last registered first; keep that order.
        return list(reversed(getattr(self.pm.hook, hook).get_hookimpls()))

    def call(self, hook: str, **kwargs: Any) -> list[HookResult]:
        """Call every implementation of a synchronous-context hook; failures are logged and skipped.

        A coroutine returned here is an error (use `acall` where hooks may be async).
        """
        results = []
        for impl in self._implementations(hook):
            started = time.perf_counter()
            try:
                value = impl.function(**_accepted(impl, kwargs))
                if inspect.isawaitable(value):
                    if hasattr(value, "close"):
                        value.close()
                    raise TypeError(f"{hook} must not be async here")
            except Exception as exc:
                self.report_failure(impl.plugin_name, hook, exc)
                continue
            finally:
                HOOK_SECONDS.labels(impl.plugin_name, hook).observe(time.perf_counter() - started)
            if value is not None:
                results.append(HookResult(impl.plugin_name, value))
        return results

    async def acall(self, hook: str, *, timeout: float | None = None, failures: list[str] | None = None,
                    **kwargs: Any) -> list[HookResult]:
        """Call every implementation, awaiting the ones that return awaitables.

        Without `timeout`, one after another. With `timeout` (seconds), the awaitables run
        concurrently, each cut off after `timeout`: a cut-off is that plugin's failure (logged and
        counted like an exception) and the call returns within about `timeout`. A synchronous
        implementation still runs inline and cannot be cut off. Either way results keep the
        implementations' order, and the names of plugins that failed are appended to `failures`.
        """
        implementations = self._implementations(hook)
        if timeout is None:
            outcomes = [await self._acall_one(impl, hook, kwargs, None, failures) for impl in implementations]
        else:
            outcomes = await asyncio.gather(
                *(self._acall_one(impl, hook, kwargs, timeout, failures) for impl in implementations))
        return [outcome for outcome in outcomes if outcome is not None]

    async def _acall_one(self, impl: pluggy.HookImpl, hook: str, kwargs: dict[str, Any], timeout: float | None,
                         failures: list[str] | None) -> HookResult | None:
        started = time.perf_counter()
        try:
            value = impl.function(**_accepted(impl, kwargs))
            if inspect.isawaitable(value):
                value = await (value if timeout is None else _within(value, timeout))
        except Exception as exc:
            self.report_failure(impl.plugin_name, hook, exc)
            if failures is not None:
                failures.append(impl.plugin_name)
            return None
        finally:
            HOOK_SECONDS.labels(impl.plugin_name, hook).observe(time.perf_counter() - started)
        return None if value is None else HookResult(impl.plugin_name, value)

    def flat(self, results: list[HookResult]) -> list[Any]:
        """The items of list-returning hooks, in one list."""
        return [item for result in results for item in (result.value if isinstance(result.value, list | tuple) else [result.value])]

    def report_failure(self, plugin: str, hook: str, exc: BaseException) -> None:
        """Record that `plugin` failed in `hook`: logged with the plugin's name, counted in
        `/metrics`, shown on `/-/plugins`. The manager calls it for every hook that raises; a
        plugin that runs its own hooks (e-parcours' pathways) calls it for the plugins it found at
        fault, so that they are reported the same way."""
        log.error("plugin %s failed in hook %s: %s", plugin, hook, exc, exc_info=exc,
                  extra={"plugin": plugin, "hook": hook})
        HOOK_FAILURES.labels(plugin, hook).inc()
        info = self.info.get(plugin)
        if info is not None:
            info.failures[hook] = info.failures.get(hook, 0) + 1
            info.last_error = f"{hook}: {type(exc).__name__}: {exc}"


async def _within(awaitable: Any, timeout: float) -> Any:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        # The bare TimeoutError says nothing; the log line and /-/plugins should.
        raise TimeoutError(f"no answer within {timeout:g} s") from None


def _accepted(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> dict[str, Any]:
    # pluggy lets an implementation take any subset of the hook's arguments.
    return {name: kwargs[name] for name in impl.argnames if name in kwargs}


def _module_name(plugin: object) -> str:
    return plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
