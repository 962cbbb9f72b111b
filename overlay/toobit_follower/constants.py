"""Every number of the client's retry, timing and signing policy, named in one place (the
package's own modules import the same values from ``_constants``)."""

from ._constants import *  # noqa: F403
