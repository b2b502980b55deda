use super::*;
use crate::store::records::ledger_columns;

impl Inner {
    pub(super) fn add_usage(
        &mut self,
        run_id: RunId,
        agent: &str,
        delta: &Usage,
    ) -> Result<(), StoreError> {
        ledger_columns(delta)?;
        self.run_mut(run_id)?;
        *self.run_usage.entry(run_id).or_default() += *delta;
        *self.agent_usage.entry(agent.to_owned()).or_default() += *delta;
        Ok(())
    }

    pub(super) fn run_usage(&mut self, run_id: RunId) -> Result<Usage, StoreError> {
        Ok(self.run_usage.get(&run_id).copied().unwrap_or_default())
    }

    pub(super) fn agent_usage(&mut self, agent: &str) -> Result<Usage, StoreError> {
        Ok(self.agent_usage.get(agent).copied().unwrap_or_default())
    }

    pub(super) fn insert_agent_key(&mut self, key: &AgentKeyRecord) -> Result<(), StoreError> {
        if self.keys.contains_key(&key.key_id) {
            return Err(StoreError::Duplicate {
                what: "agent key",
                key: key.key_id.clone(),
            });
        }
        self.keys.insert(key.key_id.clone(), key.clone());
        Ok(())
    }

    pub(super) fn get_agent_key(
        &mut self,
        key_id: &str,
    ) -> Result<Option<AgentKeyRecord>, StoreError> {
        Ok(self.keys.get(key_id).cloned())
    }

    pub(super) fn list_agent_keys(
        &mut self,
        agent: Option<&str>,
    ) -> Result<Vec<AgentKeyRecord>, StoreError> {
        Ok(self
            .keys
            .values()
            .filter(|k| agent.is_none_or(|a| k.agent == a))
            .cloned()
            .collect())
    }

    pub(super) fn update_agent_key(&mut self, key: &AgentKeyRecord) -> Result<(), StoreError> {
        let stored = self
            .keys
            .get_mut(&key.key_id)
            .ok_or_else(|| StoreError::not_found("agent key", &key.key_id))?;
        if stored.version != key.version {
            return Err(StoreError::KeyConflict {
                key_id: key.key_id.clone(),
            });
        }
        // The agent, environment and creation time are fixed at insert.
        *stored = AgentKeyRecord {
            key_id: stored.key_id.clone(),
            agent: stored.agent.clone(),
            environment: stored.environment,
            created_at: stored.created_at,
            version: key.version + 1,
            ..key.clone()
        };
        Ok(())
    }

    pub(super) fn append_audit(&mut self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let (prev_seq, prev_hash) = self
            .audit
            .last()
            .map(|e| (e.seq, e.hash.as_str()))
            .unwrap_or((0, GENESIS_HASH));
        let next = chain_next(entry, prev_seq, prev_hash, UnixMillis::now());
        self.audit.push(next.clone());
        Ok(next)
    }

    pub(super) fn list_audit(
        &mut self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self
            .audit
            .iter()
            .filter(|e| e.seq > after_seq)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    pub(super) fn verify_audit(&mut self) -> Result<AuditVerification, StoreError> {
        let known = self.audit.iter().map(|e| e.hash.clone()).collect();
        let mut verifier = ChainVerifier::new(known);
        for entry in &self.audit {
            if !verifier.feed(entry) {
                break;
            }
        }
        let head = self
            .audit
            .last()
            .map(|e| (e.seq, e.hash.as_str()))
            .unwrap_or((0, GENESIS_HASH));
        Ok(verifier.finish(head))
    }
}
