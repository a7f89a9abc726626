-- Jobs store domain names, not EVS's wire names: the EVS API translates.
UPDATE jobs SET kind = CASE kind
    WHEN 'createVolume' THEN 'volume_create'
    WHEN 'deleteVolume' THEN 'volume_delete'
    WHEN 'extendVolume' THEN 'volume_extend'
    WHEN 'createSnapshot' THEN 'snapshot_create'
    WHEN 'deleteSnapshot' THEN 'snapshot_delete'
    WHEN 'retypeVolume' THEN 'volume_retype'
    WHEN 'modifyVolumeQos' THEN 'volume_qos'
    WHEN 'rollbackVolume' THEN 'volume_rollback'
    ELSE kind END;
UPDATE jobs SET status = CASE status
    WHEN 'INIT' THEN 'queued'
    WHEN 'RUNNING' THEN 'running'
    WHEN 'SUCCESS' THEN 'succeeded'
    WHEN 'FAIL' THEN 'failed'
    ELSE status END;
UPDATE job_groups SET kind = CASE kind
    WHEN 'batchCreateVolume' THEN 'volume_create_batch'
    WHEN 'extendVolume' THEN 'volume_extend_batch'
    ELSE kind END;
DROP INDEX IF EXISTS jobs_unfinished;
CREATE INDEX jobs_unfinished ON jobs (status) WHERE status IN ('queued', 'running');
