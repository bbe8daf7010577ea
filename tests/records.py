"""A hand-built set of demand records whose every answer is known (shared by query, page and export tests)."""

import pandas as pd

T0 = pd.Timestamp("2025-06-01 09:00")
RECORDS = [
    # A water outage in 西湖区 (urban): one person called twice, a neighbour once.
    dict(record_id="R1", created_at=T0, urgency=4, people_affected=200, status="received", requester_hash="h1"),
    dict(record_id="R2", created_at=T0 + pd.Timedelta("1h"), urgency=2, people_affected=50, status="dispatched",
         requester_hash="h1"),
    dict(record_id="R3", created_at=pd.Timestamp("2025-06-02 09:00"), status="resolved", requester_hash="h2",
         responded_at=pd.Timestamp("2025-06-02 11:00"), resolved_at=pd.Timestamp("2025-06-03 09:00"),
         feedback_at=pd.Timestamp("2025-06-04 11:00"), satisfaction=5),
    # Elderly care in 淳安县 (rural): one closed slowly, one just received.
    dict(record_id="R4", created_at=pd.Timestamp("2025-06-20 08:00"), category="elderly_care", district_adcode="330127",
         urban_rural="rural", urgency=3, people_affected=5, status="closed", requester_hash="h3",
         responded_at=pd.Timestamp("2025-06-21 14:00"), resolved_at=pd.Timestamp("2025-06-25 08:00"),
         feedback_at=pd.Timestamp("2025-06-26 08:00"), satisfaction=1),
    dict(record_id="R5", created_at=pd.Timestamp("2025-07-01 00:00"), category="elderly_care", district_adcode="330127",
         urban_rural="rural", status="received", requester_hash="h4"),
]
