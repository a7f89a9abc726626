//! IAM policies as Huawei IAM writes them: a document of statements, each
//! allowing or denying actions (`evs:volumes:*`, `evs:*:get*`) under
//! optional conditions. Explicit Deny beats Allow; no Allow means denied.
//!
//! This module is pure: parsing and validating documents, matching an
//! action against them, and the system policies. Who holds which policy
//! where (grants, groups, enterprise projects) is the service's business.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{Access, Action};

/// Huawei's limit on a custom policy's size (characters of its JSON).
pub const MAX_POLICY_CHARS: usize = 6144;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One `"Condition"` test: `{"StringEquals": {"g:UserId": ["..."]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub op: ConditionOp,
    pub key: ConditionKey,
    pub values: Vec<String>,
}

/// The condition operators Platter evaluates (docs/DECISIONS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionOp {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringMatch,
    StringNotMatch,
    StringStartWith,
    DateLessThan,
    DateGreaterThan,
}

/// The global (`g:`) condition keys Platter knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionKey {
    UserId,
    ProjectId,
    CurrentTime,
}

impl ConditionOp {
    fn parse(s: &str) -> Option<ConditionOp> {
        use ConditionOp::*;
        Some(match s {
            "StringEquals" => StringEquals,
            "StringNotEquals" => StringNotEquals,
            "StringEqualsIgnoreCase" => StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => StringNotEqualsIgnoreCase,
            "StringMatch" => StringMatch,
            "StringNotMatch" => StringNotMatch,
            "StringStartWith" => StringStartWith,
            "DateLessThan" => DateLessThan,
            "DateGreaterThan" => DateGreaterThan,
            _ => return None,
        })
    }

    fn is_date(self) -> bool {
        matches!(
            self,
            ConditionOp::DateLessThan | ConditionOp::DateGreaterThan
        )
    }
}

impl ConditionKey {
    fn parse(s: &str) -> Option<ConditionKey> {
        Some(match s.to_ascii_lowercase().as_str() {
            "g:userid" => ConditionKey::UserId,
            "g:projectid" => ConditionKey::ProjectId,
            "g:currenttime" => ConditionKey::CurrentTime,
            _ => return None,
        })
    }
}

/// What conditions are evaluated against: facts of the request.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    pub user_id: &'a str,
    pub project_id: &'a str,
    pub now: OffsetDateTime,
}

impl Condition {
    fn holds(&self, facts: &RequestFacts<'_>) -> bool {
        use ConditionOp::*;
        let subject = match self.key {
            ConditionKey::UserId => facts.user_id,
            ConditionKey::ProjectId => facts.project_id,
            ConditionKey::CurrentTime => {
                let dates = self
                    .values
                    .iter()
                    .filter_map(|v| OffsetDateTime::parse(v, &Rfc3339).ok());
                return match self.op {
                    DateLessThan => dates.clone().any(|d| facts.now < d),
                    DateGreaterThan => dates.clone().any(|d| facts.now > d),
                    _ => false,
                };
            }
        };
        let v = &self.values;
        match self.op {
            StringEquals => v.iter().any(|x| x == subject),
            StringNotEquals => v.iter().all(|x| x != subject),
            StringEqualsIgnoreCase => v.iter().any(|x| x.eq_ignore_ascii_case(subject)),
            StringNotEqualsIgnoreCase => v.iter().all(|x| !x.eq_ignore_ascii_case(subject)),
            StringMatch => v.iter().any(|x| glob(x, subject)),
            StringNotMatch => v.iter().all(|x| !glob(x, subject)),
            StringStartWith => v.iter().any(|x| subject.starts_with(x.as_str())),
            DateLessThan | DateGreaterThan => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub effect: Effect,
    /// Action patterns, `*` matching any run of characters.
    pub actions: Vec<String>,
    /// All must hold for the statement to apply.
    pub conditions: Vec<Condition>,
}

/// A policy document (`"Version": "1.1"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// `*` matches any run of characters (`?` one), ASCII case-insensitively.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{what} must hold strings"))
            })
            .collect(),
        _ => Err(format!("{what} must be a string or a list of strings")),
    }
}

/// `service:resource:verb` with `*`/`?` wildcards: what a statement may name.
fn valid_action_pattern(a: &str) -> bool {
    let parts: Vec<&str> = a.split(':').collect();
    a.len() <= 128
        && (a == "*"
            || (parts.len() == 3
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars().all(|c| {
                            c.is_ascii_alphanumeric() || matches!(c, '*' | '?' | '_' | '-')
                        })
                })))
}

impl Policy {
    /// Parses and validates a document; the error says what is wrong.
    pub fn parse(doc: &Value) -> Result<Policy, String> {
        let obj = doc.as_object().ok_or("the policy must be an object")?;
        for k in obj.keys() {
            if k != "Version" && k != "Statement" {
                return Err(format!("unknown policy field {k}"));
            }
        }
        match obj.get("Version").and_then(Value::as_str) {
            Some("1.1") => {}
            Some(v) => return Err(format!("policy Version {v} is not supported (use 1.1)")),
            None => return Err("the policy needs a Version".into()),
        }
        let stmts = obj
            .get("Statement")
            .and_then(Value::as_array)
            .ok_or("the policy needs a Statement list")?;
        if stmts.is_empty() {
            return Err("the policy needs at least one statement".into());
        }
        let statements = stmts
            .iter()
            .map(Statement::parse)
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// Parses the JSON text of a document.
    pub fn parse_str(text: &str) -> Result<Policy, String> {
        if text.chars().count() > MAX_POLICY_CHARS {
            return Err(format!(
                "the policy is longer than {MAX_POLICY_CHARS} characters"
            ));
        }
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        Policy::parse(&v)
    }

    /// The document as IAM writes it.
    pub fn to_json(&self) -> Value {
        json!({
            "Version": "1.1",
            "Statement": self.statements.iter().map(Statement::to_json).collect::<Vec<_>>(),
        })
    }

    /// What this document says of `action`: `Deny` if a matching Deny
    /// statement applies, else `Allow` if an Allow does, else nothing.
    pub fn effect(&self, action: &str, facts: &RequestFacts<'_>) -> Option<Effect> {
        let mut allowed = false;
        for s in &self.statements {
            if s.actions.iter().any(|p| glob(p, action))
                && s.conditions.iter().all(|c| c.holds(facts))
            {
                match s.effect {
                    Effect::Deny => return Some(Effect::Deny),
                    Effect::Allow => allowed = true,
                }
            }
        }
        allowed.then_some(Effect::Allow)
    }

    /// Whether a statement tests the time (its effect can change by itself).
    pub fn is_time_dependent(&self) -> bool {
        self.statements
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| c.key == ConditionKey::CurrentTime)
    }

    fn allow(actions: &[&str]) -> Policy {
        Policy {
            statements: vec![Statement {
                effect: Effect::Allow,
                actions: actions.iter().map(|a| a.to_string()).collect(),
                conditions: Vec::new(),
            }],
        }
    }
}

impl Statement {
    fn parse(v: &Value) -> Result<Statement, String> {
        let obj = v.as_object().ok_or("each statement must be an object")?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "Effect" | "Action" | "Condition" | "Resource") {
                return Err(format!("unknown statement field {k}"));
            }
        }
        let effect = match obj.get("Effect").and_then(Value::as_str) {
            Some(e) if e.eq_ignore_ascii_case("allow") => Effect::Allow,
            Some(e) if e.eq_ignore_ascii_case("deny") => Effect::Deny,
            _ => return Err("Effect must be Allow or Deny".into()),
        };
        let actions = strings(
            obj.get("Action").ok_or("a statement needs an Action")?,
            "Action",
        )?;
        if actions.is_empty() {
            return Err("Action must name at least one action".into());
        }
        if let Some(bad) = actions.iter().find(|a| !valid_action_pattern(a)) {
            return Err(format!("{bad} is not an action (service:resource:verb)"));
        }
        if let Some(r) = obj.get("Resource") {
            if strings(r, "Resource")? != ["*"] {
                return Err(
                    "Resource may only be \"*\": resource-level policies are not supported".into(),
                );
            }
        }
        let mut conditions = Vec::new();
        if let Some(c) = obj.get("Condition") {
            let ops = c.as_object().ok_or("Condition must be an object")?;
            for (op_name, keys) in ops {
                let op = ConditionOp::parse(op_name)
                    .ok_or_else(|| format!("condition operator {op_name} is not supported"))?;
                let keys = keys
                    .as_object()
                    .ok_or_else(|| format!("{op_name} must map keys to values"))?;
                for (key_name, values) in keys {
                    let key = ConditionKey::parse(key_name)
                        .ok_or_else(|| format!("condition key {key_name} is not supported"))?;
                    if op.is_date() != (key == ConditionKey::CurrentTime) {
                        return Err(format!("{op_name} cannot test {key_name}"));
                    }
                    let values = strings(values, key_name)?;
                    if op.is_date() {
                        if let Some(bad) = values
                            .iter()
                            .find(|v| OffsetDateTime::parse(v, &Rfc3339).is_err())
                        {
                            return Err(format!("{bad} is not a time (RFC 3339)"));
                        }
                    }
                    conditions.push(Condition { op, key, values });
                }
            }
        }
        Ok(Statement {
            effect,
            actions,
            conditions,
        })
    }

    fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert(
            "Effect".into(),
            json!(match self.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            }),
        );
        out.insert("Action".into(), json!(self.actions));
        if !self.conditions.is_empty() {
            let mut ops = Map::new();
            for c in &self.conditions {
                let entry = ops
                    .entry(format!("{:?}", c.op))
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(keys) = entry {
                    keys.insert(key_name(c.key).into(), json!(c.values));
                }
            }
            out.insert("Condition".into(), Value::Object(ops));
        }
        Value::Object(out)
    }
}

fn key_name(k: ConditionKey) -> &'static str {
    match k {
        ConditionKey::UserId => "g:UserId",
        ConditionKey::ProjectId => "g:ProjectId",
        ConditionKey::CurrentTime => "g:CurrentTime",
    }
}

/// A policy the system defines: listed as a role under its name.
#[derive(Debug, Clone, Copy)]
pub struct SystemPolicy {
    pub name: &'static str,
    pub description: &'static str,
    /// The scope IAM grants it at: project services (`project`) or all.
    pub catalog: &'static str,
}

/// Keystone's roles and Huawei's system policies (docs/DECISIONS.md).
pub const SYSTEM_POLICIES: &[SystemPolicy] = &[
    SystemPolicy {
        name: "admin",
        description: "Cloud administrator: every action, the cloud-operator ones included.",
        catalog: "BASE",
    },
    SystemPolicy {
        name: "member",
        description: "Keystone's member: every action on the project's resources.",
        catalog: "BASE",
    },
    SystemPolicy {
        name: "reader",
        description: "Keystone's reader: every read of the project's resources.",
        catalog: "BASE",
    },
    SystemPolicy {
        name: "Tenant Administrator",
        description: "All operations on the project's resources except IAM.",
        catalog: "BASE",
    },
    SystemPolicy {
        name: "Tenant Guest",
        description: "Read-only access to the project's resources.",
        catalog: "BASE",
    },
    SystemPolicy {
        name: "EVS FullAccess",
        description: "All permissions of Elastic Volume Service.",
        catalog: "EVS",
    },
    SystemPolicy {
        name: "EVS ReadOnlyAccess",
        description: "Read-only permissions of Elastic Volume Service.",
        catalog: "EVS",
    },
    SystemPolicy {
        name: "ECS FullAccess",
        description: "All permissions of Elastic Cloud Server, with its disks and images.",
        catalog: "ECS",
    },
    SystemPolicy {
        name: "ECS ReadOnlyAccess",
        description: "Read-only permissions of Elastic Cloud Server, its disks and images.",
        catalog: "ECS",
    },
];

/// The document of a system policy, by name.
pub fn system_policy(name: &str) -> Option<Policy> {
    Some(match name {
        "admin" | "member" => Policy::allow(&["*:*:*"]),
        // Exactly the reads the default role rules let through.
        "reader" => {
            let reads: BTreeSet<&str> = Action::ALL
                .iter()
                .filter(|a| a.access() == Access::Read)
                .filter_map(|a| a.iam_action())
                .collect();
            Policy::allow(&reads.into_iter().collect::<Vec<_>>())
        }
        "Tenant Administrator" => Policy {
            statements: vec![
                Statement {
                    effect: Effect::Allow,
                    actions: vec!["*:*:*".into()],
                    conditions: Vec::new(),
                },
                Statement {
                    effect: Effect::Deny,
                    actions: vec!["iam:*:*".into()],
                    conditions: Vec::new(),
                },
            ],
        },
        "Tenant Guest" => Policy::allow(&["*:*:get*", "*:*:list*"]),
        "EVS FullAccess" => Policy::allow(&["evs:*:*"]),
        "EVS ReadOnlyAccess" => Policy::allow(&["evs:*:get*", "evs:*:list*"]),
        "ECS FullAccess" => Policy::allow(&["ecs:*:*", "evs:*:*", "ims:*:*"]),
        "ECS ReadOnlyAccess" => Policy::allow(&[
            "ecs:*:get*",
            "ecs:*:list*",
            "evs:*:get*",
            "evs:*:list*",
            "ims:*:get*",
            "ims:*:list*",
        ]),
        _ => return None,
    })
}

/// Whether a role name is a system policy (not editable, not deletable).
pub fn is_system_policy(name: &str) -> bool {
    SYSTEM_POLICIES.iter().any(|p| p.name == name)
}

/// What the policies in effect say of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Allowed only on resources of these enterprise projects.
    AllowIn(BTreeSet<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RequestFacts<'static> {
        RequestFacts {
            user_id: "u1",
            project_id: "p1",
            now: OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(glob("evs:*:get*", "evs:volumes:get"));
        assert!(glob("evs:*:get*", "evs:snapshots:getById"));
        assert!(!glob("evs:*:get*", "evs:volumes:create"));
        assert!(glob("*:*:*", "ecs:cloudServers:create"));
        assert!(glob("EVS:Volumes:*", "evs:volumes:delete"));
        assert!(!glob("evs:volumes:*", "evs:snapshots:get"));
        assert!(glob("evs:volumes:g?t", "evs:volumes:get"));
    }

    #[test]
    fn deny_beats_allow_and_no_allow_is_nothing() {
        let p = Policy::parse(&json!({"Version": "1.1", "Statement": [
            {"Effect": "Allow", "Action": ["evs:*:*"]},
            {"Effect": "Deny", "Action": ["evs:volumes:delete"]},
        ]}))
        .unwrap();
        let f = facts();
        assert_eq!(p.effect("evs:volumes:get", &f), Some(Effect::Allow));
        assert_eq!(p.effect("evs:volumes:delete", &f), Some(Effect::Deny));
        assert_eq!(p.effect("ecs:servers:get", &f), None);
    }

    #[test]
    fn conditions_narrow_a_statement() {
        let p = Policy::parse(&json!({"Version": "1.1", "Statement": [{
            "Effect": "Allow", "Action": "evs:*:*",
            "Condition": {"StringEquals": {"g:UserId": ["u1", "u2"]},
                          "DateLessThan": {"g:CurrentTime": "2999-01-01T00:00:00Z"}}}]}))
        .unwrap();
        assert_eq!(p.effect("evs:volumes:get", &facts()), Some(Effect::Allow));
        let carol = RequestFacts {
            user_id: "u3",
            ..facts()
        };
        assert_eq!(p.effect("evs:volumes:get", &carol), None);
        let later = RequestFacts {
            now: OffsetDateTime::parse("2999-06-01T00:00:00Z", &Rfc3339).unwrap(),
            ..facts()
        };
        assert_eq!(p.effect("evs:volumes:get", &later), None);
        // It round-trips through its JSON.
        assert_eq!(Policy::parse(&p.to_json()).unwrap(), p);
    }

    #[test]
    fn bad_documents_say_what_is_wrong() {
        for (doc, says) in [
            (json!({"Statement": []}), "Version"),
            (json!({"Version": "1.0", "Statement": []}), "not supported"),
            (json!({"Version": "1.1", "Statement": []}), "at least one"),
            (
                json!({"Version": "1.1", "Statement": [{"Effect": "Maybe", "Action": ["a:b:c"]}]}),
                "Allow or Deny",
            ),
            (
                json!({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["evs"]}]}),
                "not an action",
            ),
            (
                json!({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["a:b:c"],
                    "Condition": {"IpAddress": {"g:SourceIp": ["1.2.3.4"]}}}]}),
                "not supported",
            ),
            (
                json!({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["a:b:c"],
                    "Condition": {"DateLessThan": {"g:UserId": ["x"]}}}]}),
                "cannot test",
            ),
        ] {
            let e = Policy::parse(&doc).unwrap_err();
            assert!(e.contains(says), "{doc}: {e}");
        }
        assert!(Policy::parse_str(&"x".repeat(MAX_POLICY_CHARS + 1)).is_err());
    }

    #[test]
    fn system_policies_read_as_their_names_say() {
        let f = facts();
        let ro = system_policy("EVS ReadOnlyAccess").unwrap();
        assert_eq!(ro.effect("evs:volumes:list", &f), Some(Effect::Allow));
        assert_eq!(ro.effect("evs:snapshots:create", &f), None);
        let reader = system_policy("reader").unwrap();
        for a in Action::ALL {
            if let Some(name) = a.iam_action() {
                let allowed = reader.effect(name, &f) == Some(Effect::Allow);
                // Names shared by a read and a change (Nova's proxies) are
                // allowed by the read.
                if a.access() == Access::Read {
                    assert!(allowed, "{a:?}");
                }
            }
        }
        let admin = system_policy("Tenant Administrator").unwrap();
        assert_eq!(admin.effect("ecs:servers:create", &f), Some(Effect::Allow));
        assert_eq!(admin.effect("iam:users:create", &f), Some(Effect::Deny));
        for p in SYSTEM_POLICIES {
            assert!(system_policy(p.name).is_some(), "{}", p.name);
        }
    }
}
