"""Plugin discovery through real entry points: built-ins, the example plugin, and what goes wrong."""

from __future__ import annotations

import logging

import pytest

import augmentlab
from augmentlab.errors import PluginError, SpecError
from augmentlab.registry import loading as plugin_manager

pytestmark = pytest.mark.usefixtures("example_plugin")  # solarize and poly, installed or not

FLIP_PLUGIN = """
    import augmentlab
    from augmentlab.augment.geometric.flips import HorizontalFlip

    @augmentlab.hookimpl
    def augmentlab_register_augmentations():
        return [augmentlab.Augmentation("hflip", HorizontalFlip, "geometric")]
"""


def test_builtins_and_the_example_plugin_are_found_through_their_entry_points():
    registry = augmentlab.load_plugins()
    plugins = {plugin.name: (plugin.distribution, plugin.status) for plugin in registry.plugins}
    assert plugins["augmentlab.augment"] == ("augmentlab", "loaded")
    assert plugins["augmentlab.losses"] == ("augmentlab", "loaded")
    assert plugins["example"] == ("augmentlab-example", "loaded")
    assert augmentlab.available_augmentations()["hflip"].provider == "augmentlab.augment"
    assert augmentlab.available_augmentations()["solarize"].provider == "example"
    assert augmentlab.available_losses()["ce"].provider == "augmentlab.losses"
    assert augmentlab.available_losses()["poly"].provider == "example"


def test_info_reads_doc_and_defaults_from_the_factory():
    info = augmentlab.available_augmentations()["solarize"]
    assert (info.kind, dict(info.defaults)) == ("photometric", {"threshold": (0.5, 1.0), "p": 0.5})
    assert info.doc == "Invert every pixel value above a per-sample threshold."
    assert dict(augmentlab.available_losses()["poly"].defaults) == {"epsilon": 1.0}


def test_a_second_provider_of_the_same_augmentation_is_an_error_naming_both(install_distribution):
    install_distribution("augmentlab-twin", {"twin_plugin": FLIP_PLUGIN}, {"twin": "twin_plugin"}, version="2.3")
    with pytest.raises(PluginError) as error:
        augmentlab.load_plugins()
    assert str(error.value) == (
        "augmentation 'hflip' is provided by two plugins: 'augmentlab.augment' (augmentlab 0.1.0) and "
        "'twin' (augmentlab-twin 2.3); disable one with AUGMENTLAB_DISABLE_PLUGINS=NAME"
    )


def test_a_second_provider_of_the_same_loss_is_an_error_naming_both(install_distribution):
    source = """
        import augmentlab
        from augmentlab.losses.cross_entropy import CrossEntropyLoss

        @augmentlab.hookimpl
        def augmentlab_register_losses():
            return [augmentlab.Loss("poly", CrossEntropyLoss)]
    """
    install_distribution("other-poly", {"other_poly": source}, {"other_poly": "other_poly"})
    with pytest.raises(PluginError, match=r"^loss 'poly' is provided by two plugins: 'example' \(augmentlab-example 0.1.0\) and 'other_poly' \(other-poly 1.0\)"):
        augmentlab.load_plugins()


def test_two_distributions_with_one_plugin_name_is_an_error(install_distribution):
    install_distribution("augmentlab-impostor", {"impostor": "\n"}, {"example": "impostor"})
    with pytest.raises(PluginError) as error:
        augmentlab.load_plugins()
    assert str(error.value) == (
        "two plugins are named 'example': one from augmentlab-example 0.1.0 and one from augmentlab-impostor 1.0; "
        "uninstall one of the distributions"
    )


def test_disabling_one_of_two_colliding_plugins_resolves_the_collision(install_distribution, monkeypatch):
    install_distribution("augmentlab-twin", {"twin_plugin": FLIP_PLUGIN}, {"twin": "twin_plugin"})
    monkeypatch.setenv("AUGMENTLAB_DISABLE_PLUGINS", "twin")
    registry = augmentlab.load_plugins()
    assert registry.augmentations["hflip"].provider == "augmentlab.augment"


def test_a_plugin_that_fails_to_import_is_reported_in_one_line_and_skipped(install_distribution, caplog):
    install_distribution("augmentlab-broken", {"broken_plugin": "import not_a_module_anywhere\n"}, {"broken": "broken_plugin"}, "0.2")
    with caplog.at_level(logging.WARNING, logger="augmentlab.plugins"):
        registry = augmentlab.load_plugins()
    assert caplog.messages == [
        "plugin 'broken' (augmentlab-broken 0.2) failed to load: ModuleNotFoundError: No module named "
        "'not_a_module_anywhere' and was skipped"
    ]
    broken = next(plugin for plugin in registry.plugins if plugin.name == "broken")
    assert (broken.status, broken.error) == ("failed", "failed to load: ModuleNotFoundError: No module named 'not_a_module_anywhere'")
    assert "solarize" in registry.augmentations and "hflip" in registry.augmentations


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_strict_mode_makes_a_broken_plugin_fatal(install_distribution, monkeypatch, how):
    install_distribution("augmentlab-broken", {"broken_plugin": "raise RuntimeError('boom')\n"}, {"broken": "broken_plugin"})
    kwargs = {"strict": True} if how == "argument" else {}
    if how == "environment":
        monkeypatch.setenv("AUGMENTLAB_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as error:
        augmentlab.load_plugins(**kwargs)
    assert str(error.value) == (
        "plugin 'broken' (augmentlab-broken 1.0) failed to load: RuntimeError: boom "
        "(strict mode; fix it, uninstall it or disable it with AUGMENTLAB_DISABLE_PLUGINS=broken)"
    )


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_losses():
                raise KeyError("oops")
            """,
            "raised in augmentlab_register_losses: KeyError: 'oops'",
        ),
        (
            """
            import augmentlab
            from augmentlab.losses.cross_entropy import CrossEntropyLoss
            @augmentlab.hookimpl
            def augmentlab_register_losses():
                return [augmentlab.Loss("poly1", CrossEntropyLoss)]
            """,
            "registers the invalid loss name 'poly1' (use lowercase snake_case, not ending in a digit)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentations():
                return [augmentlab.Augmentation("Blur", lambda p=0.5: None, "photometric")]
            """,
            "registers the invalid augmentation name 'Blur' (use lowercase snake_case)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentations():
                return [augmentlab.Augmentation("blur", lambda sigma, p=0.5: None, "photometric")]
            """,
            "registers augmentation 'blur' whose factory parameter 'sigma' has no default; every spec parameter needs one (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentations():
                return [augmentlab.Augmentation("blur", lambda p=0.5: None, "colour")]
            """,
            "registers augmentation 'blur' whose factory has kind 'colour'; use one of geometric, photometric, mix"
            " (subclass a family base of augmentlab.augment, or pass kind=) (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentations():
                return [augmentlab.Augmentation("blur", lambda p=0.5: None)]
            """,
            "registers augmentation 'blur' whose factory has kind None; use one of geometric, photometric, mix"
            " (subclass a family base of augmentlab.augment, or pass kind=) (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentations():
                return ["blur"]
            """,
            "returned str where an augmentlab.Augmentation registration was expected (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentations():
                return [augmentlab.Augmentation("blur", lambda sigma=1.0: None, "photometric")]
            """,
            "registers augmentation 'blur' whose factory does not take p; every augmentation takes p, the probability of changing each "
            "sample, with a default (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_losses():
                return [augmentlab.Loss("poly", lambda num_classes, epsilon=1.0: None)]
            """,
            "registers loss 'poly' whose factory does not take ignore_index; every loss factory is called as "
            "factory(num_classes, ignore_index=..., **spec_parameters) (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_losses():
                return [augmentlab.Loss("poly", lambda epsilon=1.0: None)]
            """,
            "registers loss 'poly' whose factory does not take num_classes or ignore_index; every loss factory is called as "
            "factory(num_classes, ignore_index=..., **spec_parameters) (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_result_sinks():
                return [augmentlab.ResultSink("W&B", lambda project="x": None)]
            """,
            "registers the invalid sink name 'W&B' (use lowercase snake_case)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_result_sinks():
                return [augmentlab.ResultSink("wandb", lambda project, entity="": None)]
            """,
            "registers sink 'wandb' whose factory parameter 'project' has no default; every spec parameter needs one (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_result_sinks():
                return [augmentlab.ResultSink("wandb", lambda **options: None)]
            """,
            "registers sink 'wandb' whose factory takes **options; list each spec parameter explicitly with its default (see the rules in augmentlab/hookspecs.py)",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentations(unknown_argument):
                return []
            """,
            # pluggy's reason is on the lines after its first: all of it, in one line
            "failed to load: Plugin 'bad' for hook 'augmentlab_register_augmentations'; hookimpl definition: "
            "augmentlab_register_augmentations(unknown_argument); Argument(s) {'unknown_argument'} are declared in the hookimpl "
            "but can not be found in the hookspec",
        ),
        (
            """
            import augmentlab
            from augmentlab.augment.geometric.flips import HorizontalFlip
            @augmentlab.hookimpl
            def augmentlab_register_augmentations():
                return augmentlab.Augmentation("flop", HorizontalFlip)
            """,
            "returned one Augmentation from augmentlab_register_augmentations, not a list of registrations; return a list, [...]",
        ),
        (
            """
            import augmentlab
            @augmentlab.hookimpl
            def augmentlab_register_augmentation():
                return []
            """,
            "implements augmentlab_register_augmentation, which is no augmentlab hook — did you mean augmentlab_register_augmentations?",
        ),
        (
            """
            def augmentlab_register_losses():
                return []
            """,
            "defines augmentlab_register_losses without @augmentlab.hookimpl, so it is never called; decorate it",
        ),
        (
            """
            import augmentlab
            """,
            "implements no augmentlab hook; a plugin module defines one of augmentlab_register_augmentations, "
            "augmentlab_register_losses, augmentlab_result_sinks, decorated with @augmentlab.hookimpl",
        ),
    ],
)
def test_bad_registrations_are_reported_and_skipped(install_distribution, caplog, source, reason):
    install_distribution("augmentlab-bad", {"bad_plugin": source}, {"bad": "bad_plugin"})
    with caplog.at_level(logging.WARNING, logger="augmentlab.plugins"):
        registry = augmentlab.load_plugins()
    bad = next(plugin for plugin in registry.plugins if plugin.name == "bad")
    assert (bad.status, bad.error) == ("failed", reason)
    assert len(caplog.messages) == 1 and caplog.messages[0].startswith("plugin 'bad' (augmentlab-bad 1.0) ")
    assert "hflip" in registry.augmentations


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_plugin_can_be_disabled_by_name(monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("AUGMENTLAB_DISABLE_PLUGINS", " example ,")
        registry = augmentlab.load_plugins()
    else:
        registry = augmentlab.load_plugins(disable=["example"])
    example = next(plugin for plugin in registry.plugins if plugin.name == "example")
    assert (example.status, example.error) == ("disabled", "disabled by name")
    assert "solarize" not in registry.augmentations and "poly" not in registry.losses
    assert "hflip" in registry.augmentations


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_disabling_autoload_keeps_the_builtins_only(monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("AUGMENTLAB_DISABLE_PLUGIN_AUTOLOAD", "1")
        registry = augmentlab.load_plugins()
    else:
        registry = augmentlab.load_plugins(autoload=False)
    statuses = {plugin.name: plugin.status for plugin in registry.plugins}
    assert statuses["augmentlab.augment"] == statuses["augmentlab.losses"] == "loaded"
    assert statuses["example"] == "disabled"
    assert {info.provider for info in registry.augmentations.values()} == {"augmentlab.augment"}
    assert {info.provider for info in registry.losses.values()} == {"augmentlab.losses"}


def test_disabling_an_unknown_plugin_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="augmentlab.plugins"):
        augmentlab.load_plugins(disable=["exampel"])
    assert caplog.messages == ["no plugin named 'exampel' is installed, so there is nothing to disable"]


def test_the_registry_is_loaded_once_and_reset_on_request():
    first = plugin_manager.current_registry()
    assert plugin_manager.current_registry() is first
    plugin_manager.reset_plugins()
    assert plugin_manager.current_registry() is not first


def test_a_plugin_that_fails_in_one_hook_provides_nothing(install_distribution):
    source = """
        import augmentlab
        from augmentlab.augment.geometric.flips import HorizontalFlip

        @augmentlab.hookimpl
        def augmentlab_register_augmentations():
            return [augmentlab.Augmentation("half_flip", HorizontalFlip, "geometric")]

        @augmentlab.hookimpl
        def augmentlab_register_losses():
            raise RuntimeError("no losses today")
    """
    install_distribution("augmentlab-half", {"half_plugin": source}, {"half": "half_plugin"})
    registry = augmentlab.load_plugins()
    half = next(plugin for plugin in registry.plugins if plugin.name == "half")
    assert (half.status, half.error) == ("failed", "raised in augmentlab_register_losses: RuntimeError: no losses today")
    assert "half_flip" not in registry.augmentations


def test_an_unknown_name_says_which_plugins_are_disabled(monkeypatch):
    monkeypatch.setenv("AUGMENTLAB_DISABLE_PLUGINS", "augmentlab.losses")  # the fixture reloads the plugins after the test
    augmentlab.load_plugins()
    with pytest.raises(SpecError) as error:
        augmentlab.build_loss("ce", num_classes=3)
    assert str(error.value) == (
        "in spec 'ce' (at column 1): unknown loss 'ce'; `augmentlab plugins` lists all; disabled here: augmentlab.losses "
        "(AUGMENTLAB_DISABLE_PLUGINS or -D), which may provide it"
    )
