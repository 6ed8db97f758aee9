// `aicache exec -- CMD ARGS...`: caches the output of an AI command-line tool (claude, gemini,
// llm, ...). The key covers argv, stdin, the working-directory context and the environment
// variables that select a model; on a miss the output streams through as it is produced, on a
// hit it is replayed; the exit status is preserved and failed runs are not cached. With semantic
// matching (a host's, or --encoder) a paraphrased question in the same circumstances (the rest of
// the key) is answered from the cache when the threshold learner lets it be; otherwise the tool
// runs and its output, compared with the cached one, teaches the learner whether the match was right.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/cache_client.hpp"
#include "cli/data_plane.hpp"
#include "cli/exec_output.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"
#include "learning/request_log.hpp"
#include "server/cache_api.hpp"
#include "server/canonical_request.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace aicache::cli {
namespace {

struct ExecArgs {
    DataPlaneOptions plane;
    std::vector<std::string> command;
    std::string tenant = "default";
    uint64_t ttl_seconds = 0;
    bool no_cache = false;
    std::string context = "listing"; // none | path | listing
    std::vector<std::string> env_names;
    std::string question_from = "auto"; // auto | stdin | none | N (an argv index)
    SemanticArgs semantic;
    bool explain = false;
};

// The question a paraphrase may stand in for, and the rest of the key that must match exactly.
struct Question {
    std::string text;  // empty: no semantic matching for this run
    std::string scope; // hex hash of the key with the question blanked
};

// auto: piped text on stdin, else the last argument with a space in it (a prompt, not a flag).
Expected<Question> find_question(const ExecArgs &args, const std::optional<std::string> &input, nlohmann::json key_json) {
    Question q;
    const std::string &from = args.question_from;
    auto usable = [](std::string_view text) { return !text.empty() && text.size() <= 64 * 1024 && text.find('\0') == std::string_view::npos; };
    if (from == "none") return q;
    if ((from == "auto" || from == "stdin") && input && usable(*input)) {
        q.text = *input;
        key_json["stdin"] = "<question>";
    } else if (from == "auto") {
        for (size_t i = args.command.size(); i-- > 1;)
            if (args.command[i].find(' ') != std::string::npos && usable(args.command[i])) {
                q.text = args.command[i];
                key_json["argv"][i] = "<question>";
                break;
            }
    } else if (from != "stdin") {
        char *end = nullptr;
        unsigned long index = std::strtoul(from.c_str(), &end, 10);
        if (end == from.c_str() || *end != '\0' || index == 0 || index >= args.command.size())
            return Status(Errc::invalid_argument, "--question-from must be auto, stdin, none or an argument index 1.." +
                                                      std::to_string(args.command.size() - 1) + ", not " + from);
        q.text = args.command[index];
        key_json["argv"][index] = "<question>";
    }
    if (!q.text.empty()) q.scope = server::key_hex(hash_key(key_json.dump()));
    return q;
}

std::string stdout_of(std::string_view encoded) {
    auto chunks = decode_output(encoded);
    std::string text;
    if (chunks)
        for (const auto &c : *chunks)
            if (c.stream == 1) text += c.bytes;
    return text;
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

std::string read_all(int fd) {
    std::string out;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buffer, static_cast<size_t>(n));
    }
    return out;
}

// The environment variables that choose a model for the common AI CLIs, plus any *_MODEL.
bool selects_model(std::string_view name, const std::vector<std::string> &extra) {
    if (std::find(extra.begin(), extra.end(), name) != extra.end()) return true;
    return name.size() > 6 && name.substr(name.size() - 6) == "_MODEL";
}

// What the tool can see of its working directory: its path and, by default, the names, sizes
// and modification times of what it holds, so an answer about changed files is not replayed.
// The aicache data directory is left out when it lies inside, since every run changes it.
nlohmann::json directory_context(const std::string &mode, const std::filesystem::path &data) {
    if (mode == "none") return nullptr;
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec);
    nlohmann::json context = {{"path", cwd.string()}};
    if (mode != "listing") return context;
    std::vector<std::string> entries;
    auto data_dir_absolute = std::filesystem::weakly_canonical(data, ec);
    for (const auto &entry : std::filesystem::directory_iterator(cwd, ec)) {
        std::error_code same_ec;
        if (std::filesystem::equivalent(entry.path(), data_dir_absolute, same_ec)) continue;
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) != 0) continue;
        entries.push_back(entry.path().filename().string() + "\t" + std::to_string(st.st_size) + "\t" +
                          std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
    }
    std::sort(entries.begin(), entries.end());
    std::string joined;
    for (const auto &e : entries) joined += e + "\n";
    context["listing_sha256"] = sha256_hex(joined);
    return context;
}

struct RunResult {
    int exit_code = 0;
    std::vector<OutputChunk> output;
};

// Runs the command, copying its output to ours as it arrives and keeping a copy.
Expected<RunResult> run_command(const std::vector<std::string> &command, const std::optional<std::string> &input) {
    int out[2], err[2], in[2] = {-1, -1};
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || (input && ::pipe2(in, O_CLOEXEC) != 0))
        return Status(Errc::io, std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (input) posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char *> argv;
    for (const auto &a : command) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    if (input) ::close(in[0]);
    if (spawned != 0) {
        ::close(out[0]);
        ::close(err[0]);
        if (input) ::close(in[1]);
        return Status(Errc::not_found, command[0] + ": cannot run: " + std::strerror(spawned));
    }

    std::signal(SIGPIPE, SIG_IGN); // a child that stops reading stdin must not kill us
    RunResult result;
    std::string_view pending = input ? std::string_view(*input) : std::string_view();
    int stdin_fd = input ? in[1] : -1;
    if (stdin_fd >= 0 && pending.empty()) {
        ::close(stdin_fd);
        stdin_fd = -1;
    }
    if (stdin_fd >= 0) ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
    int open_outputs = 2;
    char buffer[65536];
    while (open_outputs > 0) {
        fds[2].fd = stdin_fd;
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_outputs;
                continue;
            }
            std::string_view piece(buffer, static_cast<size_t>(n));
            (void)write_all(i + 1, piece);
            if (!result.output.empty() && result.output.back().stream == i + 1) result.output.back().bytes.append(piece);
            else result.output.push_back({i + 1, std::string(piece)});
        }
        if (stdin_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = ::write(stdin_fd, pending.data(), pending.size());
            if (n > 0) pending.remove_prefix(static_cast<size_t>(n));
            if (n < 0 && errno != EAGAIN && errno != EINTR) pending = {};
            if (pending.empty()) {
                ::close(stdin_fd);
                stdin_fd = -1;
            }
        }
    }
    if (stdin_fd >= 0) ::close(stdin_fd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

// Leaves the run's record in the data directory's request log, beside a running host's records.
void record_request(const ExecArgs &args, const std::string &key, learning::RequestOutcome outcome, uint64_t answer_bytes,
                    std::chrono::steady_clock::time_point started, uint32_t command_us, uint64_t started_us) {
    auto log = learning::RequestLog::open({data_dir(args.plane.data) / "requests.arl"});
    if (!log) {
        spdlog::debug("exec: no request log: {}", log.error().message());
        return;
    }
    learning::RequestRecord r;
    r.time_us = started_us;
    r.key_hash = hash_key(key);
    r.tenant_hash = hash_key(args.tenant);
    r.size_bytes = static_cast<uint32_t>(std::min<uint64_t>(answer_bytes, UINT32_MAX));
    r.cost_tokens = static_cast<uint32_t>(std::min<uint64_t>((answer_bytes + 3) / 4, UINT32_MAX));
    r.latency_us = static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count(), UINT32_MAX));
    r.upstream_latency_us = command_us;
    r.outcome = outcome;
    r.source = learning::RequestSource::exec;
    (*log)->append(r);
}

int run(const ExecArgs &args) {
    const auto started = std::chrono::steady_clock::now();
    const uint64_t started_us = now_us();
    if (args.command.empty()) return fail(Status(Errc::invalid_argument, "exec needs a command: aicache exec -- CMD ARGS..."));
    if (args.context != "none" && args.context != "path" && args.context != "listing")
        return fail(Status(Errc::invalid_argument, "--context must be none, path or listing"));

    std::optional<std::string> input;
    if (!::isatty(0)) input = read_all(0);
    nlohmann::json env = nlohmann::json::object();
    for (char **e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        size_t eq = entry.find('=');
        if (eq != std::string_view::npos && selects_model(entry.substr(0, eq), args.env_names))
            env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
    nlohmann::json key_json = {{"kind", "exec"},
                               {"tenant", args.tenant},
                               {"argv", args.command},
                               {"stdin", input ? nlohmann::json(sha256_hex(*input)) : nlohmann::json("tty")},
                               {"cwd", directory_context(args.context, data_dir(args.plane.data))},
                               {"env", env}};
    const std::string key = key_json.dump();
    auto question = find_question(args, input, key_json);
    if (!question) return fail(question.error());
    CacheClient cache(args.plane, args.semantic);
    auto explain = [&](const std::string &line) {
        if (args.explain) std::fprintf(stderr, "aicache: %s\n", line.c_str());
    };

    nlohmann::json explored; // a paraphrase candidate not served: judged by the fresh output below
    std::string explored_output;
    if (!args.no_cache) {
        nlohmann::json get = {{"op", "cache.get"}, {"key", key}};
        if (!question->text.empty()) get.update({{"question", question->text}, {"scope", question->scope}});
        auto cached = cache.request(get);
        if (!cached) std::fprintf(stderr, "aicache: cache unavailable (%s); running uncached\n", cached.error().message().c_str());
        if (cached && cached->value("hit", false)) {
            auto bytes = server::from_base64(cached->value("value_b64", ""));
            auto chunks = bytes ? decode_output(*bytes) : Expected<std::vector<OutputChunk>>(bytes.error());
            if (chunks) {
                const bool semantic = cached->value("semantic", false);
                if (semantic) {
                    const auto &c = (*cached)["candidate"];
                    explain(fmt::format("semantic-hit of {} (\"{}\", score {:.3f})", c.value("key_hash", ""), c.value("cached_question", ""),
                                        c.value("score", 0.0)));
                } else {
                    explain("hit");
                }
                for (const auto &c : *chunks) (void)write_all(c.stream, c.bytes);
                record_request(args, key, semantic ? learning::RequestOutcome::semantic_hit : learning::RequestOutcome::hit, bytes->size(), started,
                               0, started_us);
                return 0;
            }
            std::fprintf(stderr, "aicache: ignoring a damaged cache entry (%s)\n", chunks.error().message().c_str());
        }
        if (cached && cached->contains("candidate")) {
            explored = (*cached)["candidate"];
            auto bytes = server::from_base64(cached->value("cached_value_b64", ""));
            if (bytes) explored_output = stdout_of(*bytes);
            explain(fmt::format("miss; paraphrase candidate {} (\"{}\", score {:.3f}) {}", explored.value("key_hash", ""),
                                explored.value("cached_question", ""), explored.value("score", 0.0), explored.value("decision", "")));
        } else if (cached) {
            explain("miss");
        }
    }

    const auto command_started = std::chrono::steady_clock::now();
    auto ran = run_command(args.command, input);
    const auto command_us = static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - command_started).count(), UINT32_MAX));
    if (!ran) {
        std::fprintf(stderr, "aicache: %s\n", ran.error().message().c_str());
        return 127;
    }
    std::string encoded = encode_output(ran->output);
    learning::RequestOutcome outcome = args.no_cache ? learning::RequestOutcome::bypass
                                       : ran->exit_code == 0 ? learning::RequestOutcome::miss
                                                             : learning::RequestOutcome::error;
    record_request(args, key, outcome, ran->exit_code == 0 ? encoded.size() : 0, started, command_us, started_us);
    if (ran->exit_code == 0 && !args.no_cache) {
        nlohmann::json put = {{"op", "cache.put"},    {"key", key},  {"value_b64", server::to_base64(encoded)},
                              {"tenant", args.tenant}, {"kind", "exec"}, {"cost", (encoded.size() + 3) / 4},
                              {"ttl", args.ttl_seconds}};
        if (!question->text.empty()) put.update({{"question", question->text}, {"scope", question->scope}});
        auto stored = cache.request(put);
        if (!stored) std::fprintf(stderr, "aicache: output not cached: %s\n", stored.error().message().c_str());
        if (!explored.is_null()) {
            // Would the cached output have done? Its agreement with the fresh one is the outcome.
            const bool right = cache::texts_agree(explored_output, stdout_of(encoded));
            auto told = cache.request({{"op", "cache.outcome"}, {"candidate", explored}, {"right", right}});
            if (!told) spdlog::warn("exec: match outcome not recorded: {}", told.error().message());
            explain(fmt::format("the candidate's output {} the fresh one", right ? "agrees with" : "differs from"));
        }
    }
    return ran->exit_code;
}

} // namespace

void register_exec(CLI::App &app) {
    auto args = std::make_shared<ExecArgs>();
    CLI::App *cmd = app.add_subcommand("exec", "Run an AI command-line tool through the cache: aicache exec -- CMD ARGS...");
    add_data_plane_options(*cmd, args->plane);
    cmd->add_option("--tenant", args->tenant, "Namespace the answer belongs to")->capture_default_str();
    cmd->add_option("--ttl", args->ttl_seconds, "Seconds the output stays cached (0: no expiry)")->capture_default_str();
    cmd->add_flag("--no-cache", args->no_cache, "Run the command without reading or writing the cache");
    cmd->add_option("--context", args->context,
                    "What of the working directory is part of the key: none, path, or listing (names, sizes, mtimes)")
        ->capture_default_str();
    cmd->add_option("--env", args->env_names, "Extra environment variables that select a model (any *_MODEL is always included)");
    cmd->add_option("--question-from", args->question_from,
                    "Where the question is, for answering paraphrases: auto (piped stdin, else the last argument with a space), stdin, "
                    "none, or an argument index")
        ->capture_default_str();
    add_semantic_options(*cmd, args->semantic);
    cmd->add_flag("--explain", args->explain, "Say on stderr how the answer was found (hit, semantic-hit of which entry, miss)");
    cmd->add_option("command", args->command, "The command and its arguments, after --")->required();
    cmd->callback([args] {
        if (int code = run(*args); code != 0) throw CLI::RuntimeError(code);
    });
}

} // namespace aicache::cli
