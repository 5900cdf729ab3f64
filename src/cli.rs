//! The command line: `serve` (default), `migrate`, `admin create-member`, `admin create-token`.

use anyhow::{anyhow, Context};
use clap::{Parser, Subcommand};
use leadwire_models::tenancy::{AuthKind, Caller, OrgRole, OuRole};

use crate::config::{Config, ConfigArgs};
use crate::startup::{self, Application};

#[derive(Debug, Parser)]
#[command(
    name = "leadwire",
    version,
    about = "Leadwire: real-time lead scoring, routing and enrichment server"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default command).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks on the database, without a running server.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an org member (and optionally add them to an org unit).
    CreateMember {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "")]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// Org role: admin or member.
        #[arg(long, default_value = "member", value_parser = parse_org_role)]
        role: OrgRole,
        /// Org unit id to add the member to.
        #[arg(long)]
        ou: Option<String>,
        /// Role in that org unit: Owner, Operator or Viewer.
        #[arg(long, default_value = "Viewer", value_parser = parse_ou_role)]
        ou_role: OuRole,
    },
    /// Create a personal access token for a member and print it (shown once).
    CreateToken {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Optional expiry (RFC 3339, in the future).
        #[arg(long)]
        expires_at: Option<String>,
    },
}

fn parse_org_role(s: &str) -> Result<OrgRole, String> {
    serde_json::from_value(serde_json::Value::String(s.to_lowercase()))
        .map_err(|_| "expected admin or member".into())
}

fn parse_ou_role(s: &str) -> Result<OuRole, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| "expected Owner, Operator or Viewer".into())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config)?;
    startup::init_tracing(&config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.print_banner();
            app.run_until_stopped().await
        }
        Command::Migrate => {
            let store = startup::open_store(&config).await?;
            let applied = store.applied_migrations().await?;
            println!(
                "database is at migration {}",
                applied.last().copied().unwrap_or(0)
            );
            Ok(())
        }
        Command::Admin(cmd) => admin(config, cmd).await,
    }
}

async fn admin(config: Config, cmd: AdminCommand) -> anyhow::Result<()> {
    let core = startup::build_core(&config).await?;
    let org = core
        .store
        .first_org()
        .await?
        .ok_or_else(|| anyhow!("no organisation yet: start the server once first"))?;
    match cmd {
        AdminCommand::CreateMember {
            email,
            password,
            first_name,
            last_name,
            role,
            ou,
            ou_role,
        } => {
            let system = system_caller(&core, &org.id).await?;
            let first_name = if first_name.is_empty() {
                email.split('@').next().unwrap_or("member").to_string()
            } else {
                first_name
            };
            let member = core
                .create_member(
                    &system,
                    leadwire_actors::tenancy::MemberInput {
                        first_name,
                        last_name,
                        email,
                        password,
                        role,
                    },
                )
                .await
                .map_err(|e| anyhow!(e.message))?;
            if let Some(ou) = ou {
                core.assign_membership(&system, &ou, &member.org_member_id, ou_role)
                    .await
                    .map_err(|e| anyhow!(e.message))?;
            }
            println!("created member {} ({})", member.org_member_id, member.email);
            Ok(())
        }
        AdminCommand::CreateToken {
            email,
            name,
            expires_at,
        } => {
            let member = core
                .store
                .member_by_email(&email.trim().to_lowercase())
                .await?
                .ok_or_else(|| anyhow!("no member with email {email}"))?;
            let caller = Caller {
                org_id: member.org_id.clone(),
                member_id: member.id.clone(),
                email: member.email.clone(),
                org_role: member.role,
                auth: AuthKind::Jwt,
                bound_ou: None,
            };
            let token = core
                .create_token(&caller, &name, expires_at.as_deref())
                .await
                .map_err(|e| anyhow!(e.message))?;
            println!("{}", token.token);
            Ok(())
        }
    }
}

/// The first admin of the org, acting for the command line.
async fn system_caller(core: &leadwire_actors::Core, org_id: &str) -> anyhow::Result<Caller> {
    let admin = core
        .store
        .members(org_id)
        .await?
        .into_iter()
        .find(|m| m.role == OrgRole::Admin)
        .context("the organisation has no admin")?;
    Ok(Caller {
        org_id: admin.org_id,
        member_id: admin.id,
        email: admin.email,
        org_role: OrgRole::Admin,
        auth: AuthKind::Jwt,
        bound_ou: None,
    })
}
