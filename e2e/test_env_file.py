"""`make env` (scripts/stack.py): .env from .env.example with fresh secrets, never overwritten."""

from conftest import stack_module


def test_make_env_replaces_every_placeholder_with_a_distinct_secret(tmp_path):
    target = tmp_path / ".env"
    assert stack_module.env_file_create(target=target)

    example = stack_module.env_file_read(stack_module.ENV_EXAMPLE)
    written = stack_module.env_file_read(target)
    placeholders = [name for name, value in example.items() if value.startswith("change-me")]
    assert placeholders
    assert not [value for value in written.values() if value.startswith("change-me")]
    assert len({written[name] for name in placeholders}) == len(placeholders)
    assert all(len(written[name]) >= 32 for name in placeholders)
    assert {n: v for n, v in written.items() if n not in placeholders} == {
        n: v for n, v in example.items() if n not in placeholders
    }


def test_make_env_never_overwrites_an_existing_file(tmp_path):
    target = tmp_path / ".env"
    target.write_text("JWT_SECRET=mine\n", encoding="utf-8")

    assert not stack_module.env_file_create(target=target)
    assert target.read_text(encoding="utf-8") == "JWT_SECRET=mine\n"


def test_template_rendering_keeps_nginx_variables():
    values = dict.fromkeys(stack_module.TEMPLATE_VARIABLES, "X")
    rendered = stack_module.template_render(
        "listen ${GATEWAY_LISTEN}; proxy_set_header Host $host; ${HOME} $request_id", values
    )
    assert rendered == "listen X; proxy_set_header Host $host; ${HOME} $request_id"
