"""Settings: one precedence order, invalid values reported and replaced."""

from __future__ import annotations

from pathlib import Path

from codellama_ls.settings.config import Settings, SettingsLayers, normalize, resolve


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    layers = SettingsLayers(file_path=Path("/nonexistent/config.toml"), environ={})
    resolved = layers.resolve()
    assert resolved.settings == Settings()
    assert resolved.problems == ()


def test_precedence_file_env_init_client(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "config.toml", 'model = "from-file.gguf"\nmax_tokens = 10\nn_ctx = 1024\ntemperature = 0.5\n'
    )
    env = {"CODELLAMA_LS_MODEL": "from-env.gguf", "CODELLAMA_LS_MAX_TOKENS": "20", "CODELLAMA_LS_N_CTX": "2048"}
    layers = SettingsLayers(file_path=cfg, environ=env)
    assert layers.resolve().settings.model == "from-env.gguf"
    assert layers.resolve().settings.temperature == 0.5  # only the file sets it
    layers.set_init_options({"model": "from-init.gguf", "maxTokens": 30})
    settings = layers.resolve().settings
    assert (settings.model, settings.max_tokens, settings.n_ctx) == ("from-init.gguf", 30, 2048)
    layers.set_client({"codellama": {"maxTokens": 40}})
    settings = layers.resolve().settings
    assert (settings.model, settings.max_tokens) == ("from-init.gguf", 40)


def test_invalid_values_keep_lower_layer_and_report(tmp_path: Path) -> None:
    layers = SettingsLayers(file_path=Path("/nonexistent"), environ={"CODELLAMA_LS_MAX_TOKENS": "64"})
    layers.set_init_options({"maxTokens": "lots", "fimFormat": "middle", "nGpuLayers": 3.5, "bogus": 1})
    resolved = layers.resolve()
    assert resolved.settings.max_tokens == 64
    assert resolved.settings.fim_format == "auto"
    assert resolved.settings.n_gpu_layers == -1
    text = "\n".join(resolved.problems)
    assert "maxTokens must be an integer" in text
    assert "fimFormat must be one of auto, psm, spm, line, none" in text
    assert "unknown setting 'bogus'" in text


def test_broken_toml_is_reported_not_raised(tmp_path: Path) -> None:
    cfg = write(tmp_path / "config.toml", "model = [unclosed\n")
    resolved = SettingsLayers(file_path=cfg, environ={}).resolve()
    assert resolved.settings == Settings()
    assert any("config file" in p and "ignoring it" in p for p in resolved.problems)


def test_non_object_options() -> None:
    values, problems = normalize("not an object", "initializationOptions")
    assert values == {} and problems


def test_bool_and_range_coercion() -> None:
    resolved = resolve([("env", {"enabled": "off", "max_lines": 0, "top_p": "0.5"})])
    assert resolved.settings.enabled is False
    assert resolved.settings.top_p == 0.5
    assert resolved.settings.max_lines == Settings().max_lines
    assert any("maxLines must be between" in p for p in resolved.problems)


def test_empty_array_or_null_means_no_settings() -> None:
    # Neovim encodes an empty Lua table, `init_options = {}`, as `[]`.
    for raw in ([], None, {}, {"codellama": []}, {"codellama": None}, {"codellama": {}}):
        assert normalize(raw, "initializationOptions") == ({}, []), raw
    layers = SettingsLayers(file_path=Path("/nonexistent"), environ={"CODELLAMA_LS_MAX_LINES": "3"})
    layers.set_init_options([])
    layers.set_client([])
    layers.set_client(None)
    resolved = layers.resolve()
    assert resolved.problems == ()
    assert resolved.settings == Settings(max_lines=3)


def test_a_list_with_something_in_it_is_still_reported() -> None:
    values, problems = normalize(["maxLines", 2], "initializationOptions")
    assert values == {}
    assert problems == ["initializationOptions: expected an object of settings, got list"]
