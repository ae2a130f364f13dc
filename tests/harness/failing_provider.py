"""A node provider for Ray's autoscaler whose launches fail as a cloud out of capacity does.

Test harness, not product code. ``NoCapacityProvider`` is Ray's fake multi-node provider whose
``create_node_with_resources_and_labels`` raises the ``NodeLaunchException`` that cloud
providers raise for a quota or capacity error (Ray's AWS provider does so for
``InsufficientInstanceCapacity``), so the autoscaler records the failure in its report as it
would on AWS. Named in a config as ``provider: {type: external, module:
tests.harness.failing_provider.NoCapacityProvider}``; the head's monitor imports it.
"""

from __future__ import annotations

from typing import Any

from ray.autoscaler._private.fake_multi_node.node_provider import FakeMultiNodeProvider
from ray.autoscaler.node_launch_exception import NodeLaunchException

CATEGORY = "InsufficientInstanceCapacity"
DESCRIPTION = "We currently do not have sufficient g5.2xlarge capacity in zone us-west-2a."


class NoCapacityProvider(FakeMultiNodeProvider):
    """Every launch fails with a capacity error; the head alone stays up."""

    def create_node_with_resources_and_labels(
        self, node_config: Any, tags: Any, count: int, resources: Any, labels: Any
    ) -> Any:
        raise NodeLaunchException(CATEGORY, DESCRIPTION, src_exc_info=None)
