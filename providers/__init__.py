"""Hosting resolution: who hosts a ticket's IP/hostname, and under which jurisdiction.

Resolvers (each a swappable unit tagging results with its data version):
`EmbeddedResolver` (geoip2fast, offline, default), `PrefixTableResolver`
(imported RouteViews pfx2as + AS names), `RdapResolver` (online, `--online`).
`resolve_pending` is the stage function; the rest is the registry of canonical
providers, the dated EU/INHOPE tables and helpers other stages use.
"""

from providers.addresses import canonical_ip, special_purpose
from providers.cdn import cdn_operator
from providers.embedded import EmbeddedResolver
from providers.errors import ReferenceDataError
from providers.hostnames import registered_domain
from providers.jurisdictions import Jurisdictions, Membership, membership, set_membership
from providers.merge import IpFacts, merge_ip
from providers.names import display_name, name_key
from providers.prefix_import import refresh_prefix_table
from providers.prefix_table import PrefixTable, PrefixTableResolver, load_prefix_table
from providers.rdap import RdapResolver, parse_rdap
from providers.registry import (
    add_alias,
    list_providers,
    merge_providers,
    remap_providers,
    show_provider,
)
from providers.resolve import refresh_membership, resolve_pending
from providers.results import IpResult, Resolver
from providers.status import resolution_status

__all__ = [
    "EmbeddedResolver",
    "IpFacts",
    "IpResult",
    "Jurisdictions",
    "Membership",
    "PrefixTable",
    "PrefixTableResolver",
    "RdapResolver",
    "ReferenceDataError",
    "Resolver",
    "add_alias",
    "canonical_ip",
    "cdn_operator",
    "display_name",
    "list_providers",
    "load_prefix_table",
    "membership",
    "merge_ip",
    "merge_providers",
    "name_key",
    "parse_rdap",
    "refresh_membership",
    "refresh_prefix_table",
    "registered_domain",
    "remap_providers",
    "resolution_status",
    "resolve_pending",
    "set_membership",
    "show_provider",
    "special_purpose",
]
