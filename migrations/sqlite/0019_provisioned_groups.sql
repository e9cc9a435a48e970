-- Groups out (issue 15): the SCIM Groups Gatehouse made in each provisioning target for the
-- groups assigned to the target's application. No foreign key to directory_groups: the row must
-- outlive a group deleted in Gatehouse until the target has been told to delete it too.
CREATE TABLE provisioned_groups (
    target_id  TEXT NOT NULL REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    group_id   TEXT NOT NULL,
    remote_id  TEXT NOT NULL,
    synced_at  INTEGER NOT NULL,
    PRIMARY KEY (target_id, group_id)
);
