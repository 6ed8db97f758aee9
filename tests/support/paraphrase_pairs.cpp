#include "paraphrase_pairs.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace aicache::test {
namespace {

// The first forty are everyday tasks, the last forty computing ones: two domains for drift tests.
const char *const kTasks[kParaphraseTasks] = {
    "reset my router password", "bake sourdough bread", "change a flat bike tyre", "renew my passport online",
    "learn to play the guitar", "grow tomatoes on a balcony", "clean a cast iron pan", "train a puppy to sit",
    "write a cover letter", "fix a leaking kitchen tap", "make cold brew coffee", "save money on groceries",
    "remove red wine stains", "start running as a beginner", "paint a bedroom wall", "improve my credit score",
    "cook rice without a cooker", "tie a windsor knot", "plan a trip to japan", "meditate before sleeping",
    "sharpen a kitchen knife", "negotiate a higher salary", "keep basil plants alive", "replace a car battery",
    "learn spanish vocabulary fast", "prepare for a job interview", "set up a home aquarium", "stop procrastinating at work",
    "make homemade pasta", "choose a good mattress", "hang a heavy mirror", "brew beer at home",
    "calm a crying baby", "file my taxes myself", "unclog a bathroom drain", "iron a dress shirt",
    "fold a fitted sheet", "descale an electric kettle", "patch a hole in drywall", "pack a suitcase efficiently",
    "install python on windows", "back up my phone photos", "speed up a slow laptop", "protect my email from hackers",
    "build a simple website", "reverse a linked list", "center a div with css", "undo the last git commit",
    "read a csv file in pandas", "free disk space on linux", "sort a dictionary by value", "merge two sorted arrays",
    "connect to a postgres database", "write a unit test in java", "parse json in javascript", "resize an image in python",
    "find a memory leak in c++", "set up ssh keys on github", "deploy a docker container", "schedule a cron job",
    "hash a password securely", "debounce a function in javascript", "profile a slow sql query", "rename a git branch",
    "convert a string to a date", "kill a process on a port", "encrypt a file with gpg", "compile a rust project",
    "mock an http call in tests", "create a virtual environment", "format a usb drive", "update node with npm",
    "read environment variables in go", "paginate results in an api", "upload a file with curl", "count words in a file",
    "generate a random uuid", "handle errors in async code", "flatten a nested list", "monitor cpu usage on a server"};
const char *const kWays[] = {"how do I {}", "what is the best way to {}", "can you explain how to {}", "tips to {} quickly"};

std::string say(const char *way, const char *task) {
    std::string s = way;
    return s.replace(s.find("{}"), 2, task);
}

} // namespace

std::filesystem::path write_paraphrase_pairs(const std::filesystem::path &file, size_t first, size_t count) {
    std::ofstream out(file);
    auto line = [&](const std::string &a, const std::string &b, int label) {
        out << nlohmann::json{{"a", a}, {"b", b}, {"label", label}}.dump() << "\n";
    };
    for (size_t t = first; t + 1 < first + count && t + 1 < kParaphraseTasks; t += 2)
        for (size_t w = 0; w < std::size(kWays); ++w)
            for (size_t v = w + 1; v < std::size(kWays); ++v) {
                line(say(kWays[w], kTasks[t]), say(kWays[v], kTasks[t]), 1);
                line(say(kWays[w], kTasks[t + 1]), say(kWays[v], kTasks[t + 1]), 1);
                line(say(kWays[w], kTasks[t]), say(kWays[w], kTasks[t + 1]), 0);
                line(say(kWays[v], kTasks[t]), say(kWays[w], kTasks[t + 1]), 0);
            }
    return file;
}

} // namespace aicache::test
