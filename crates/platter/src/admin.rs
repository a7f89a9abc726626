//! `platter admin`: identity administration straight against the store, for
//! operators at the shell (and before any token exists).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use platter_model::{AccessKeyId, DomainId, GrantScope, ProjectId, UserGroupId, UserId};
use platter_service::identity_fields::{ProjectFields, UserFields};
use platter_service::{CredentialCaller, GroupFields, Platter, PolicyFields};

use platter_engine::{Pool, PoolOptions};

use crate::config::{BackendKind, Config, ServeArgs};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// TOML configuration file (for the data directory).
    #[arg(long, env = "PLATTER_CONFIG")]
    config: Option<PathBuf>,
    /// The service's data directory.
    #[arg(long, env = "PLATTER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Role assignments.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Access keys (AK/SK) for Huawei SDK request signing.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// User groups (IAM).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Custom IAM policies (system policies are built in).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Grants of roles and policies to groups.
    #[command(subcommand)]
    Grant(GrantCommand),
    /// Read every block of the storage pool and verify its checksum (the
    /// server must be stopped: it owns the pool). Exits 1 when a block is bad.
    Scrub,
    /// Read every chunk of every backup in the backup repository and
    /// verify it against its hash (safe while the server runs). Exits 1
    /// when a chunk is missing or corrupt.
    BackupCheck,
}

#[derive(Debug, Subcommand)]
enum ProjectCommand {
    /// Create a project in domain Default; prints its id.
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List projects.
    List,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user; with --project, also give it --role there. Prints its id.
    Create {
        name: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        project: Option<String>,
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
enum RoleCommand {
    /// Give a user a role (admin, member, reader) on a project.
    Add {
        #[arg(long)]
        user: String,
        #[arg(long)]
        project: String,
        role: String,
    },
    /// Take a role away.
    Remove {
        #[arg(long)]
        user: String,
        #[arg(long)]
        project: String,
        role: String,
    },
}

#[derive(Debug, Subcommand)]
enum CredentialCommand {
    /// Issue an access key for a user; prints the user id, the access key
    /// and the secret key (shown only now).
    Create {
        /// The user's name or id.
        #[arg(long)]
        user: String,
        /// The domain of a user given by name (name or id).
        #[arg(long, default_value = "Default")]
        domain: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List access keys (of one user with --user), without secrets.
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value = "Default")]
        domain: String,
    },
    /// Delete an access key.
    Delete { access_key: String },
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// Create a group in domain Default; prints its id.
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List groups.
    List,
    /// Delete a group (its grants go with it).
    Delete { group: String },
    /// Put a user in a group.
    AddUser { group: String, user: String },
    /// Take a user out of a group.
    RemoveUser { group: String, user: String },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Create a custom policy from a JSON document (IAM's
    /// `{"Version": "1.1", "Statement": [...]}`); prints its role id.
    Create {
        name: String,
        /// The document's file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// AX (project services) or XA (global services).
        #[arg(long = "type", default_value = "AX")]
        kind: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List custom policies.
    List,
    /// Print a custom policy's document.
    Show { policy: String },
    /// Delete a custom policy (its grants go with it).
    Delete { policy: String },
}

/// Where a grant applies: exactly one.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct GrantTarget {
    /// A project (name or id).
    #[arg(long)]
    project: Option<String>,
    /// A domain (id), for domain-scoped calls.
    #[arg(long)]
    domain: Option<String>,
    /// Every project of domain Default, now and later.
    #[arg(long)]
    all_projects: bool,
    /// Resources of an enterprise project, in any project.
    #[arg(long)]
    enterprise_project: Option<String>,
}

#[derive(Debug, Subcommand)]
enum GrantCommand {
    /// Grant a role or policy (by name or id) to a group.
    Add {
        #[arg(long)]
        group: String,
        role: String,
        #[command(flatten)]
        target: GrantTarget,
    },
    /// Revoke a grant.
    Remove {
        #[arg(long)]
        group: String,
        role: String,
        #[command(flatten)]
        target: GrantTarget,
    },
    /// List every group grant.
    List,
}

async fn group_id(platter: &Platter, name_or_id: &str) -> Result<UserGroupId> {
    if let Ok(g) = platter.user_group_get(&UserGroupId::from(name_or_id)).await {
        return Ok(g.id);
    }
    platter
        .user_group_list(Some(name_or_id.to_string()), None)
        .await?
        .into_iter()
        .next()
        .map(|g| g.id)
        .with_context(|| format!("no group named or with id {name_or_id}"))
}

async fn grant_scope(platter: &Platter, t: GrantTarget) -> Result<GrantScope> {
    Ok(if let Some(p) = t.project {
        GrantScope::Project(project_id(platter, &p).await?)
    } else if let Some(d) = t.domain {
        GrantScope::Domain(DomainId::from(d))
    } else if let Some(ep) = t.enterprise_project {
        GrantScope::EnterpriseProject(ep)
    } else {
        GrantScope::AllProjects(DomainId::from("default"))
    })
}

async fn project_id(platter: &Platter, name_or_id: &str) -> Result<ProjectId> {
    if let Ok(p) = platter.project_get(&ProjectId::from(name_or_id)).await {
        return Ok(p.id);
    }
    let found = platter
        .project_list(Some(name_or_id.to_string()), None)
        .await?;
    found
        .into_iter()
        .next()
        .map(|p| p.id)
        .with_context(|| format!("no project named or with id {name_or_id}"))
}

async fn user_id(platter: &Platter, name_or_id: &str) -> Result<UserId> {
    if let Ok(u) = platter.user_get(&UserId::from(name_or_id)).await {
        return Ok(u.id);
    }
    let found = platter
        .user_list(Some(name_or_id.to_string()), None)
        .await?;
    found
        .into_iter()
        .next()
        .map(|u| u.id)
        .with_context(|| format!("no user named or with id {name_or_id}"))
}

/// A user by id, or by name within a domain given by name or id.
async fn user_id_in_domain(platter: &Platter, name_or_id: &str, domain: &str) -> Result<UserId> {
    if let Ok(u) = platter.user_get(&UserId::from(name_or_id)).await {
        return Ok(u.id);
    }
    let domain_id = match platter.domain_get(&DomainId::from(domain)).await {
        Ok(d) => d.id,
        Err(_) => platter
            .domain_list(Some(domain))
            .await?
            .into_iter()
            .next()
            .map(|d| d.id)
            .with_context(|| format!("no domain named or with id {domain}"))?,
    };
    platter
        .user_list(Some(name_or_id.to_string()), Some(domain_id))
        .await?
        .into_iter()
        .next()
        .map(|u| u.id)
        .with_context(|| format!("no user named or with id {name_or_id} in domain {domain}"))
}

/// Scrubs every engine pool; `Ok(false)` when a block is bad.
/// Checks the backup repository; whether it is clean.
fn backup_check(config: &Config) -> Result<bool> {
    let dir = config
        .service
        .backup_dir
        .clone()
        .context("this configuration has no backup repository")?;
    let repo = platter_backup::Repository::open_dir(&dir)
        .with_context(|| format!("opening the backup repository {}", dir.display()))?;
    let report = repo.check()?;
    for (backup, chunk, why) in &report.problems {
        println!("backup {backup}: chunk {chunk}: {why}");
    }
    println!(
        "checked {} backups, {} chunks: {} problems",
        report.backups,
        report.chunks,
        report.problems.len()
    );
    Ok(report.problems.is_empty())
}

fn scrub(config: &Config) -> Result<bool> {
    let engines: Vec<_> = config
        .pools
        .iter()
        .filter(|p| p.backend == BackendKind::Engine)
        .collect();
    if engines.is_empty() {
        anyhow::bail!(
            "scrub checks the block engine's checksums; this data directory uses another backend"
        );
    }
    let mut clean = true;
    for p in engines {
        let options = PoolOptions {
            background_commit: None,
            ..Default::default()
        };
        let pool = Pool::open(&p.path, options).with_context(|| {
            format!(
                "opening the storage pool '{}' (is the server still running?)",
                p.name
            )
        })?;
        let report = pool.scrub()?;
        let label = if config.pools.len() > 1 {
            format!("pool {}: ", p.name)
        } else {
            String::new()
        };
        println!(
            "{label}scrubbed {} devices, {} blocks: {} bad",
            report.devices,
            report.blocks_checked,
            report.errors.len()
        );
        for e in &report.errors {
            let what = match e.device.split_once(':') {
                Some(("v", id)) => format!("volume {id}"),
                Some(("s", id)) => format!("snapshot {id}"),
                _ => e.device.clone(),
            };
            println!("{label}{what} offset {}: {}", e.offset, e.problem);
        }
        clean &= report.errors.is_empty();
    }
    Ok(clean)
}

pub async fn run(args: AdminArgs) -> Result<()> {
    let serve_args = ServeArgs {
        config: args.config,
        data_dir: args.data_dir,
        ..Default::default()
    };
    let config = Config::resolve(&serve_args)?;
    if let AdminCommand::Scrub = args.command {
        if !scrub(&config)? {
            std::process::exit(1);
        }
        return Ok(());
    }
    if let AdminCommand::BackupCheck = args.command {
        if !backup_check(&config)? {
            std::process::exit(1);
        }
        return Ok(());
    }
    let platter = crate::open_service(&config, false).await?;
    platter.bootstrap(None).await?;
    match args.command {
        AdminCommand::Scrub | AdminCommand::BackupCheck => {}
        AdminCommand::Project(ProjectCommand::Create { name, description }) => {
            let p = platter
                .project_create(ProjectFields {
                    name: Some(name),
                    description,
                    ..Default::default()
                })
                .await?;
            println!("{}", p.id);
        }
        AdminCommand::Project(ProjectCommand::List) => {
            for p in platter.project_list(None, None).await? {
                println!("{}\t{}", p.id, p.name);
            }
        }
        AdminCommand::User(UserCommand::Create {
            name,
            password,
            project,
            role,
        }) => {
            let default_project = match &project {
                Some(p) => Some(project_id(&platter, p).await?),
                None => None,
            };
            let u = platter
                .user_create(UserFields {
                    name: Some(name),
                    password: Some(password),
                    default_project_id: Some(default_project.clone()),
                    ..Default::default()
                })
                .await?;
            if let Some(pid) = default_project {
                platter.role_assign(&u.id, &pid, &role).await?;
            }
            println!("{}", u.id);
        }
        AdminCommand::User(UserCommand::List) => {
            for u in platter.user_list(None, None).await? {
                println!("{}\t{}", u.id, u.name);
            }
        }
        AdminCommand::Group(cmd) => group_command(&platter, cmd).await?,
        AdminCommand::Policy(cmd) => policy_command(&platter, cmd).await?,
        AdminCommand::Grant(cmd) => grant_command(&platter, cmd).await?,
        AdminCommand::Role(RoleCommand::Add {
            user,
            project,
            role,
        }) => {
            let (u, p) = (
                user_id(&platter, &user).await?,
                project_id(&platter, &project).await?,
            );
            platter.role_assign(&u, &p, &role).await?;
        }
        AdminCommand::Role(RoleCommand::Remove {
            user,
            project,
            role,
        }) => {
            let (u, p) = (
                user_id(&platter, &user).await?,
                project_id(&platter, &project).await?,
            );
            platter.role_unassign(&u, &p, &role).await?;
        }
        AdminCommand::Credential(CredentialCommand::Create {
            user,
            domain,
            description,
        }) => {
            let u = user_id_in_domain(&platter, &user, &domain).await?;
            let c = platter
                .credential_create(CredentialCaller::Admin, &u, &description)
                .await?;
            println!("user_id: {}", c.user_id);
            println!("access_key: {}", c.access_key);
            println!("secret_key: {}", c.secret_key);
        }
        AdminCommand::Credential(CredentialCommand::List { user, domain }) => {
            let u = match user {
                Some(user) => Some(user_id_in_domain(&platter, &user, &domain).await?),
                None => None,
            };
            for c in platter
                .credential_list(CredentialCaller::Admin, u.as_ref())
                .await?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    c.access_key, c.user_id, c.status, c.created_at, c.description
                );
            }
        }
        AdminCommand::Credential(CredentialCommand::Delete { access_key }) => {
            platter
                .credential_delete(CredentialCaller::Admin, &AccessKeyId::from(access_key))
                .await?;
        }
    }
    platter.store().close().await;
    Ok(())
}

async fn group_command(platter: &Platter, cmd: GroupCommand) -> Result<()> {
    match cmd {
        GroupCommand::Create { name, description } => {
            let g = platter
                .user_group_create(GroupFields {
                    name: Some(name),
                    description: Some(description),
                    ..Default::default()
                })
                .await?;
            println!("{}", g.id);
        }
        GroupCommand::List => {
            for g in platter.user_group_list(None, None).await? {
                println!("{}\t{}", g.id, g.name);
            }
        }
        GroupCommand::Delete { group } => {
            let g = group_id(platter, &group).await?;
            platter.user_group_delete(&g).await?;
        }
        GroupCommand::AddUser { group, user } => {
            let (g, u) = (
                group_id(platter, &group).await?,
                user_id(platter, &user).await?,
            );
            platter.user_group_member_add(&g, &u).await?;
        }
        GroupCommand::RemoveUser { group, user } => {
            let (g, u) = (
                group_id(platter, &group).await?,
                user_id(platter, &user).await?,
            );
            platter.user_group_member_remove(&g, &u).await?;
        }
    }
    Ok(())
}

async fn policy_command(platter: &Platter, cmd: PolicyCommand) -> Result<()> {
    let find = |name: String| async move {
        let all = platter.custom_policy_list().await?;
        all.into_iter()
            .find(|p| p.display_name == name || p.role_id.as_str() == name)
            .with_context(|| format!("no custom policy named or with id {name}"))
    };
    match cmd {
        PolicyCommand::Create {
            name,
            file,
            kind,
            description,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let document: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let p = platter
                .custom_policy_create(
                    DomainId::from("default"),
                    PolicyFields {
                        display_name: Some(name),
                        description: Some(description),
                        kind: Some(kind),
                        document: Some(document),
                    },
                )
                .await?;
            println!("{}", p.role_id);
        }
        PolicyCommand::List => {
            for p in platter.custom_policy_list().await? {
                println!("{}\t{}", p.role_id, p.display_name);
            }
        }
        PolicyCommand::Show { policy } => println!("{}", find(policy).await?.document),
        PolicyCommand::Delete { policy } => {
            let p = find(policy).await?;
            platter.custom_policy_delete(&p.role_id).await?;
        }
    }
    Ok(())
}

async fn grant_command(platter: &Platter, cmd: GrantCommand) -> Result<()> {
    match cmd {
        GrantCommand::Add {
            group,
            role,
            target,
        } => {
            let g = group_id(platter, &group).await?;
            let scope = grant_scope(platter, target).await?;
            platter.group_grant(&g, &role, scope).await?;
        }
        GrantCommand::Remove {
            group,
            role,
            target,
        } => {
            let g = group_id(platter, &group).await?;
            let scope = grant_scope(platter, target).await?;
            platter.group_revoke(&g, &role, scope).await?;
        }
        GrantCommand::List => {
            for g in platter.group_grant_list().await? {
                let role = platter
                    .role_get(&g.role_id)
                    .await
                    .map(|r| r.name)
                    .unwrap_or_else(|_| g.role_id.to_string());
                let (kind, target) = g.scope.parts();
                println!("{}\t{role}\t{kind}\t{target}", g.group_id);
            }
        }
    }
    Ok(())
}
