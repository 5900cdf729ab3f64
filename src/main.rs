//! The `leadwire` binary: parse the command line, set up logging, run the command.

use clap::Parser;

/// Stack of each runtime thread. The storage engine serialises a JSON value by recursion, a
/// few frames per level of nesting; the 2 MiB default overflowed (aborting the process) at
/// about 70 levels in a debug build, well within what a JSON body may nest (128 levels,
/// the parser's limit). 16 MiB is reserved address space, touched only as deep as it is used.
const THREAD_STACK_BYTES: usize = 16 * 1024 * 1024;

fn main() -> std::process::ExitCode {
    let cli = leadwire::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(leadwire::cli::run(cli)),
        Err(e) => Err(anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
