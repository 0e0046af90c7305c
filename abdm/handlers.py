"""The M2 callbacks' handlers, registered in ``abdm.inbound``'s registry when the app starts
(``AbdmConfig.ready``). Each runs once per callback inside ``inbound.process``'s transaction and
hands the work to the service that owns it."""

from __future__ import annotations

from abdm import consents, linking, transfer
from abdm.inbound import handles
from abdm.models import Flow, GatewayMessage

handles(Flow.ON_GENERATE_TOKEN)(linking.token_generated)
handles(Flow.ON_CARECONTEXT)(linking.care_contexts_linked)
handles(Flow.DISCOVER)(linking.discover)
handles(Flow.LINK_INIT)(linking.link_init)
handles(Flow.LINK_CONFIRM)(linking.link_confirm)
handles(Flow.CONSENT_NOTIFY)(consents.consent_notified)


@handles(Flow.HI_REQUEST)
def health_information_requested(message: GatewayMessage) -> None:
    transfer.requested(message)
