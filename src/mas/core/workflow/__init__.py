"""The workflow engine (workflow.md): node graphs that nurture CRM leads, run one node per job,
and the Mr. Hire workflow rules (stored and validated only).

Parts, each built by its manifest part (``mas.modules.workflow.<part>``):

* ``definitions`` — workflows, their draft graphs, validation and published versions, the
  workflow state machine (enable, disable, archive).
* ``runs`` — enrollments (segment scans, CRM events, by hand), the step executor, durable
  waits, AI-call outcomes, retries, history and counters.
* ``hire`` — Mr. Hire's workflow rules (CRUD per owner).

``runs`` builds on ``definitions`` (it reads published versions); ``definitions`` reaches the
live enrollments only through the small port it declares (``LiveEnrollments``).
"""

from __future__ import annotations
