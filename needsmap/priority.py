"""The priority score of a demand cluster, and its visible components.

score = U^w_urgency × P^w_people × F^w_frequency × A^w_age, where
  U (urgency)    = the highest urgency in the cluster, 1–4;
  P (people)     = 1 + log10(most people affected by one record), so 1 person → 1, 1,000 → 4;
  F (frequency)  = 1 + log2(distinct requesters): one person calling fifty times counts once;
  A (age)        = 1 + days the oldest open record has waited ÷ the overdue limit, capped at 4;
                   a cluster with nothing open has A = 1.
Weights are exponents (0 switches a component off, 1 is neutral, 2 doubles its say), so the
ranking follows the seeds' rule: urgency and people affected first, frequent problems first.
A record's own score is the same with F = 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    urgency: float = 1.0
    people: float = 1.0
    frequency: float = 1.0
    age: float = 1.0

    def params(self) -> dict[str, float]:
        """The weights by the names ``SCORE_SQL`` gives them."""
        return {"w_urgency": self.urgency, "w_people": self.people, "w_frequency": self.frequency, "w_age": self.age}


# SQL over a row with max_urgency, people_affected, distinct_requesters, days_open_oldest and
# $overdue_days and the weights $w_* (bound by name), producing the four components; used by the query layer.
COMPONENTS_SQL = """
    CAST(max_urgency AS DOUBLE) AS urgency_component,
    1 + log10(greatest(people_affected, 1)) AS people_component,
    1 + log2(greatest(distinct_requesters, 1)) AS frequency_component,
    least(1 + coalesce(days_open_oldest, 0) / $overdue_days, 4.0) AS age_component
"""

SCORE_SQL = """
    pow(urgency_component, $w_urgency) * pow(people_component, $w_people) * pow(frequency_component, $w_frequency)
    * pow(age_component, $w_age)
"""
