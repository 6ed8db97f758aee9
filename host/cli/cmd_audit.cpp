// `aicache audit log | verify` and `aicache operator keygen | trust`: the record of every change
// and the keys that sign operators' decisions.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "patches/pipeline.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

namespace aicache::cli {
namespace {

struct AuditArgs {
    std::string data, name, dir, file;
    bool json = false;
};

Expected<std::unique_ptr<store::Database>> open_db(const std::string &flag) {
    std::filesystem::path data = data_dir(flag);
    std::error_code ec;
    std::filesystem::create_directories(data, ec);
    return store::Database::open(data / "aicache.db");
}

int log(const AuditArgs &args) {
    auto db = open_db(args.data);
    if (!db) return fail(db.error());
    patches::AuditLog audit(**db);
    auto entries = audit.entries();
    if (!entries) return fail(entries.error());
    if (args.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto &e : *entries)
            out.push_back({{"seq", e.seq}, {"at", e.at}, {"actor", e.actor}, {"action", e.action}, {"subject", e.subject},
                           {"details", nlohmann::json::parse(e.details, nullptr, false)}, {"prev_hash", e.prev_hash}, {"hash", e.hash},
                           {"public_key", e.public_key}, {"signature", e.signature}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    for (const auto &e : *entries)
        std::printf("%5lld %s %-12s %-16s %-12s %s%s %s\n", static_cast<long long>(e.seq), e.at.c_str(), e.actor.c_str(), e.action.c_str(),
                    e.subject.c_str(), e.hash.substr(0, 12).c_str(), e.public_key.empty() ? "" : " signed", e.details.c_str());
    return 0;
}

int verify(const AuditArgs &args) {
    auto db = open_db(args.data);
    if (!db) return fail(db.error());
    patches::AuditLog audit(**db);
    auto checked = audit.verify();
    if (!checked) return fail(checked.error());
    if (!checked->ok) {
        std::printf("BROKEN at %s\n", checked->reason.c_str());
        return 1;
    }
    std::printf("ok: %lld rows chained, %lld operator signatures verified\n", static_cast<long long>(checked->rows),
                static_cast<long long>(checked->signed_rows));
    return 0;
}

std::filesystem::path default_key_dir() {
    if (const char *config = std::getenv("XDG_CONFIG_HOME"); config != nullptr && *config != '\0')
        return std::filesystem::path(config) / "aicache" / "operator";
    const char *home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".config" / "aicache" / "operator";
}

int keygen(const AuditArgs &args) {
    const std::string name = args.name.empty() ? current_user() : args.name;
    const std::filesystem::path dir = args.dir.empty() ? default_key_dir() : std::filesystem::path(args.dir);
    patches::OperatorKey key = patches::OperatorKey::generate(name);
    if (Status saved = key.save(dir); !saved) return fail(saved);
    std::printf("operator key %s: secret %s (keep it), public %s (give it to each host: aicache operator trust %s)\n", name.c_str(),
                (dir / (name + ".key")).c_str(), (dir / (name + ".pub")).c_str(), (dir / (name + ".pub")).c_str());
    return 0;
}

int trust(const AuditArgs &args) {
    auto db = open_db(args.data);
    if (!db) return fail(db.error());
    patches::PatchPipeline pipeline(**db, data_dir(args.data));
    if (Status trusted = pipeline.trust(args.file, current_user()); !trusted) return fail(trusted);
    std::printf("trusted %s for signing decisions on this host\n", args.file.c_str());
    return 0;
}

} // namespace

void register_audit(CLI::App &app) {
    auto args = std::make_shared<AuditArgs>();
    CLI::App *audit = app.add_subcommand("audit", "The append-only, hash-chained audit log of every change");
    audit->require_subcommand(1);
    audit->fallthrough(); // `aicache audit verify --data DIR` works as well as `aicache audit --data DIR verify`
    audit->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    CLI::App *log_cmd = audit->add_subcommand("log", "Print the audit log, oldest first");
    log_cmd->add_flag("--json", args->json, "JSON");
    on_callback(log_cmd, [args] { return log(*args); });
    CLI::App *verify_cmd = audit->add_subcommand("verify", "Check the hash chain and every operator signature; name the first broken row");
    on_callback(verify_cmd, [args] { return verify(*args); });

    CLI::App *op = app.add_subcommand("operator", "Operator keys that sign patch decisions (ed25519)");
    op->require_subcommand(1);
    op->fallthrough();
    op->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    CLI::App *keygen_cmd = op->add_subcommand("keygen", "Make a key pair: NAME.key (secret, 0600) and NAME.pub");
    keygen_cmd->add_option("--name", args->name, "Operator name (default: your user name)");
    keygen_cmd->add_option("--dir", args->dir, "Where to write the key files (default: ~/.config/aicache/operator)");
    on_callback(keygen_cmd, [args] { return keygen(*args); });
    CLI::App *trust_cmd = op->add_subcommand("trust", "Trust an operator's public key on this host");
    trust_cmd->add_option("file", args->file, "NAME.pub")->required();
    on_callback(trust_cmd, [args] { return trust(*args); });
}

} // namespace aicache::cli
