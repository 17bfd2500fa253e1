"""devstack.gateway: the nginx configuration of local runs."""

from devstack.gateway import TEMPLATE_VARIABLES, template_render


def test_template_rendering_keeps_nginx_variables():
    values = dict.fromkeys(TEMPLATE_VARIABLES, "X")
    rendered = template_render(
        "listen ${GATEWAY_LISTEN}; proxy_set_header Host $host; ${HOME} $request_id", values
    )
    assert rendered == "listen X; proxy_set_header Host $host; ${HOME} $request_id"
