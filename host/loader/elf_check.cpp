#include "loader/elf_check.hpp"

#include <aicache/abi.h>

#include <cstring>
#include <elf.h>

namespace aicache::loader {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
#else
#error "add this machine's ELF e_machine"
#endif

Status corrupt(const std::string &what, const std::string &why) { return Status(Errc::corrupt, what + ": " + why); }

template <class T>
bool read_at(std::string_view bytes, uint64_t offset, T &out) {
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
    std::memcpy(&out, bytes.data() + offset, sizeof(T));
    return true;
}

} // namespace

Expected<ElfFacts> inspect_elf(std::string_view bytes, const std::string &what) {
    Elf64_Ehdr header;
    if (bytes.size() < 4 || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
        return corrupt(what, "not an ELF file (no \\x7fELF magic): is this a shared library built by aicache_add_plugin?");
    if (!read_at(bytes, 0, header)) return corrupt(what, "truncated: " + std::to_string(bytes.size()) + " bytes is shorter than an ELF header");
    if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB)
        return corrupt(what, "not a 64-bit little-endian ELF file");
    if (header.e_type != ET_DYN) return corrupt(what, "ELF file is not a shared library (e_type " + std::to_string(header.e_type) + ")");
    if (header.e_machine != kHostMachine)
        return corrupt(what, "built for another machine (e_machine " + std::to_string(header.e_machine) + ")");

    // Every loadable segment must lie inside the file, or the loader would map past its end.
    for (uint16_t i = 0; i < header.e_phnum; ++i) {
        Elf64_Phdr ph;
        if (!read_at(bytes, header.e_phoff + uint64_t(i) * header.e_phentsize, ph))
            return corrupt(what, "truncated: program header " + std::to_string(i) + " lies past the end of the file (" +
                                     std::to_string(bytes.size()) + " bytes)");
        if (ph.p_type == PT_LOAD && (ph.p_offset > bytes.size() || ph.p_filesz > bytes.size() - ph.p_offset))
            return corrupt(what, "truncated: a loadable segment ends at byte " + std::to_string(ph.p_offset + ph.p_filesz) +
                                     " but the file has " + std::to_string(bytes.size()) + " bytes");
    }

    std::vector<Elf64_Shdr> sections(header.e_shnum);
    for (uint16_t i = 0; i < header.e_shnum; ++i)
        if (!read_at(bytes, header.e_shoff + uint64_t(i) * header.e_shentsize, sections[i]))
            return corrupt(what, "truncated: section headers end past the end of the file (" + std::to_string(bytes.size()) + " bytes)");

    ElfFacts facts;
    for (const Elf64_Shdr &section : sections) {
        if (section.sh_type != SHT_DYNSYM) continue;
        if (section.sh_link >= sections.size()) return corrupt(what, "dynamic symbol table links to a missing string table");
        const Elf64_Shdr &strings = sections[section.sh_link];
        if (section.sh_offset > bytes.size() || section.sh_size > bytes.size() - section.sh_offset ||
            strings.sh_offset > bytes.size() || strings.sh_size > bytes.size() - strings.sh_offset)
            return corrupt(what, "truncated: the dynamic symbol table lies past the end of the file");
        size_t count = section.sh_entsize ? section.sh_size / section.sh_entsize : 0;
        for (size_t k = 0; k < count; ++k) {
            Elf64_Sym sym;
            if (!read_at(bytes, section.sh_offset + k * section.sh_entsize, sym)) break;
            if (sym.st_name >= strings.sh_size) continue;
            const char *name_start = bytes.data() + strings.sh_offset + sym.st_name;
            size_t max_len = strings.sh_size - sym.st_name;
            std::string name(name_start, strnlen(name_start, max_len));
            unsigned bind = ELF64_ST_BIND(sym.st_info);
            if (sym.st_shndx == SHN_UNDEF) continue;
            if (bind == STB_GNU_UNIQUE) facts.gnu_unique_symbols.push_back(name);
            if (name == AICACHE_PLUGIN_ENTRY_SYMBOL && (bind == STB_GLOBAL || bind == STB_WEAK) &&
                ELF64_ST_TYPE(sym.st_info) == STT_FUNC)
                facts.has_entry_symbol = true;
        }
    }
    return facts;
}

Status check_loadable(const ElfFacts &facts, const std::string &what) {
    if (!facts.has_entry_symbol)
        return Status(Errc::abi, what + ": no exported " AICACHE_PLUGIN_ENTRY_SYMBOL
                                        " symbol: define the plugin with AICACHE_POLICY_PLUGIN(...) or export the entry point");
    if (!facts.gnu_unique_symbols.empty())
        return Status(Errc::abi, what + ": has " + std::to_string(facts.gnu_unique_symbols.size()) +
                                     " GNU-unique symbol(s) (first: " + facts.gnu_unique_symbols.front() +
                                     "), which would keep it loaded forever: build with aicache_add_plugin "
                                     "(-fvisibility=hidden -fno-gnu-unique)");
    return Status::ok();
}

} // namespace aicache::loader
