#include "validate/validator.hpp"

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/MultiplexConsumer.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Lex/PPCallbacks.h>
#include <clang/Lex/Preprocessor.h>
#include <llvm/Support/Path.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>

namespace aicache::jit {
namespace {

using namespace clang;

// Where the findings go, and what counts as the patch's own code: tokens spelled in the main
// file. Code expanded from the SDK's macros is spelled in the SDK and is trusted like it.
class Judge {
public:
    Judge(const Allowlist &allowlist, std::vector<Finding> &findings, SourceManager &sm)
        : allowlist_(allowlist), findings_(findings), sm_(sm) {}

    [[nodiscard]] bool in_patch(SourceLocation loc) const {
        return loc.isValid() && sm_.isWrittenInMainFile(sm_.getSpellingLoc(loc));
    }
    void report(SourceLocation loc, const char *rule, std::string message) {
        Finding f;
        f.rule = rule;
        f.message = std::move(message);
        SourceLocation at = sm_.getSpellingLoc(loc);
        f.file = std::string(llvm::sys::path::filename(sm_.getFilename(at)));
        f.line = sm_.getSpellingLineNumber(at);
        f.column = sm_.getSpellingColumnNumber(at);
        // One finding per rule and place: template instantiations visit the same code again.
        for (const Finding &seen : findings_)
            if (seen.rule == f.rule && seen.line == f.line && seen.column == f.column && seen.message == f.message) return;
        findings_.push_back(std::move(f));
    }
    const Allowlist &allowlist() const { return allowlist_; }
    SourceManager &sources() { return sm_; }

private:
    const Allowlist &allowlist_;
    std::vector<Finding> &findings_;
    SourceManager &sm_;
};

// "std::vector::push_back": namespaces and classes without template arguments or inline
// namespaces, so one allowlist entry covers every instantiation and library version.
std::string plain_name(const NamedDecl *decl) {
    std::vector<std::string> parts{decl->getNameAsString()};
    for (const DeclContext *c = decl->getDeclContext(); c != nullptr; c = c->getParent()) {
        if (const auto *ns = dyn_cast<NamespaceDecl>(c)) {
            if (!ns->isInline() && !ns->isAnonymousNamespace()) parts.push_back(ns->getNameAsString());
        } else if (const auto *record = dyn_cast<CXXRecordDecl>(c); record != nullptr && record->isLambda()) {
            parts.push_back("(lambda)");
        } else if (const auto *named = dyn_cast<RecordDecl>(c)) {
            parts.push_back(named->getNameAsString());
        } else if (const auto *function = dyn_cast<FunctionDecl>(c)) {
            parts.push_back(function->getNameAsString());
        }
    }
    std::string name;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) name += (name.empty() ? "" : "::") + *it;
    return name;
}

bool holds_code_pointer(QualType type) {
    for (int depth = 0; depth < 16 && !type.isNull(); ++depth) {
        type = type.getCanonicalType();
        if (type->isFunctionPointerType() || type->isFunctionReferenceType() || type->isMemberFunctionPointerType()) return true;
        if (const auto *array = dyn_cast<ArrayType>(type.getTypePtr())) type = array->getElementType();
        else if (type->isPointerType() || type->isReferenceType()) type = type->getPointeeType();
        else return false;
    }
    return false;
}

class RuleVisitor : public RecursiveASTVisitor<RuleVisitor> {
    using Base = RecursiveASTVisitor<RuleVisitor>;

public:
    RuleVisitor(Judge &judge, ASTContext &context) : judge_(judge), context_(context) {}

    bool shouldVisitTemplateInstantiations() const { return true; }

    bool TraverseDecl(Decl *decl) {
        auto *function = dyn_cast_or_null<FunctionDecl>(decl);
        if (function != nullptr) enclosing_.push_back(function);
        bool result = Base::TraverseDecl(decl);
        if (function != nullptr) enclosing_.pop_back();
        return result;
    }
    bool TraverseLambdaExpr(LambdaExpr *lambda) {
        enclosing_.push_back(lambda->getCallOperator());
        bool result = Base::TraverseLambdaExpr(lambda);
        enclosing_.pop_back();
        // The visitor walks a generic lambda's body only as written (dependent); the code that
        // runs is in its instantiations, so walk those too.
        if (FunctionTemplateDecl *generic = lambda->getDependentCallOperator())
            for (FunctionDecl *instance : generic->specializations()) result = result && TraverseDecl(instance);
        return result;
    }

    bool VisitCallExpr(CallExpr *call) {
        Expr *callee = call->getCallee();
        if (callee != nullptr) callees_.insert(callee->IgnoreParenImpCasts());
        if (!judge_.in_patch(call->getBeginLoc()) || in_dependent_code() || call->isTypeDependent()) return true;
        if (call->getDirectCallee() == nullptr && !isa<CXXPseudoDestructorExpr>(callee->IgnoreParenImpCasts()))
            judge_.report(call->getBeginLoc(), "indirect-call",
                          "calls through a pointer: every call must name its function, so the validator can check it");
        return true;
    }

    bool VisitDeclRefExpr(DeclRefExpr *ref) {
        if (auto *function = dyn_cast<FunctionDecl>(ref->getDecl())) use_function(function, ref, ref->getLocation());
        return true;
    }
    bool VisitMemberExpr(MemberExpr *member) {
        if (auto *method = dyn_cast<CXXMethodDecl>(member->getMemberDecl())) use_function(method, member, member->getMemberLoc());
        return true;
    }
    bool VisitCXXConstructExpr(CXXConstructExpr *construct) {
        CXXConstructorDecl *constructor = construct->getConstructor();
        // Implicit constructors only run member constructors, which are checked where they are named.
        if (constructor != nullptr && !constructor->isImplicit() && !constructor->isTrivial())
            use_function(constructor, nullptr, construct->getLocation());
        return true;
    }

    bool VisitFunctionDecl(FunctionDecl *function) {
        if (!judge_.in_patch(function->getLocation()) || function->isImplicit()) return true;
        if (function->getNameAsString() == "aicache_plugin_init")
            judge_.report(function->getLocation(), "entry",
                          "defines aicache_plugin_init by hand: a patch's entry point is AICACHE_POLICY_PLUGIN(Class, \"name\", \"version\")");
        if (function->isThisDeclarationADefinition() && function->isExternallyVisible() && function->getNameAsString() != "aicache_plugin_init" &&
            !function->isDependentContext())
            judge_.report(function->getLocation(), "linkage",
                          "`" + plain_name(function) + "` is visible outside the patch: put the patch's code in an anonymous namespace (only the entry point is exported)");
        if (!function->isDefined() && !function->isDeleted() && !function->isPure() && !function->isDefaulted())
            judge_.report(function->getLocation(), "extern-declaration",
                          "declares `" + function->getNameAsString() + "` without defining it: a patch may call only its own functions and the allowlist");
        return true;
    }

    bool VisitVarDecl(VarDecl *var) {
        if (!judge_.in_patch(var->getLocation())) return true;
        const std::string name = var->getNameAsString();
        if (var->getType()->isVariableArrayType())
            judge_.report(var->getLocation(), "vla", "`" + name + "` is a variable-length array: its stack use has no bound");
        if (holds_code_pointer(var->getType()))
            judge_.report(var->getLocation(), "function-pointer", "`" + name + "` holds a pointer to code: function pointers are not allowed");
        if (!var->hasGlobalStorage() || var->getDeclContext()->isDependentContext()) return true;
        if (!var->getType().isConstQualified() && !var->isConstexpr()) {
            judge_.report(var->getLocation(), "global-state",
                          "`" + name + "` is mutable state with static storage (a global, a static or thread_local): keep state in the policy object");
            return true;
        }
        if (var->hasInit() && !var->getType()->isDependentType() && !var->hasConstantInitialization())
            judge_.report(var->getLocation(), "global-init", "`" + name + "` needs a static constructor, which a patch cannot have");
        else if (var->needsDestruction(context_) != QualType::DK_none)
            judge_.report(var->getLocation(), "global-init", "`" + name + "` needs a static destructor, which a patch cannot have");
        return true;
    }
    bool VisitFieldDecl(FieldDecl *field) {
        if (judge_.in_patch(field->getLocation()) && holds_code_pointer(field->getType()))
            judge_.report(field->getLocation(), "function-pointer",
                          "`" + field->getNameAsString() + "` holds a pointer to code: function pointers are not allowed");
        return true;
    }
    bool VisitCXXRecordDecl(CXXRecordDecl *record) {
        if (!judge_.in_patch(record->getLocation()) || !record->hasDefinition() || record->getDefinition() != record) return true;
        if (record->getNumVBases() > 0)
            judge_.report(record->getLocation(), "virtual", "`" + record->getNameAsString() + "` has virtual bases");
        for (const CXXMethodDecl *method : record->methods())
            if (method->isVirtual() && !method->isImplicit())
                judge_.report(method->getLocation(), "virtual",
                              "`" + method->getNameAsString() + "` is virtual: dynamic dispatch hides which function runs");
        return true;
    }

    bool VisitGCCAsmStmt(GCCAsmStmt *s) { return asm_found(s->getBeginLoc()); }
    bool VisitMSAsmStmt(MSAsmStmt *s) { return asm_found(s->getBeginLoc()); }
    bool VisitFileScopeAsmDecl(FileScopeAsmDecl *d) { return asm_found(d->getBeginLoc()); }
    bool VisitGotoStmt(GotoStmt *s) { return goto_found(s->getBeginLoc()); }
    bool VisitIndirectGotoStmt(IndirectGotoStmt *s) { return goto_found(s->getBeginLoc()); }
    bool VisitAddrLabelExpr(AddrLabelExpr *e) { return goto_found(e->getBeginLoc()); }

    bool VisitCXXReinterpretCastExpr(CXXReinterpretCastExpr *cast) {
        if (judge_.in_patch(cast->getBeginLoc())) judge_.report(cast->getBeginLoc(), "cast", "reinterpret_cast can forge pointers");
        return true;
    }
    bool VisitCStyleCastExpr(CStyleCastExpr *cast) {
        if (!judge_.in_patch(cast->getBeginLoc())) return true;
        CastKind kind = cast->getCastKind();
        bool forging = kind == CK_IntegralToPointer || kind == CK_LValueBitCast || kind == CK_ReinterpretMemberPointer ||
                       (kind == CK_BitCast && (cast->getType()->isPointerType() || cast->getType()->isBlockPointerType()));
        if (forging) judge_.report(cast->getBeginLoc(), "cast", "a C-style cast between unrelated pointer types can forge pointers");
        return true;
    }

    bool VisitDecl(Decl *decl) {
        for (const Attr *attr : decl->attrs()) {
            if (!judge_.in_patch(attr->getLocation())) continue;
            if (isa<AsmLabelAttr>(attr)) {
                asm_found(attr->getLocation());
                continue;
            }
            if (isa<ConstructorAttr, DestructorAttr, SectionAttr, AliasAttr, IFuncAttr, WeakAttr, WeakRefAttr, UsedAttr, RetainAttr,
                    CleanupAttr, VisibilityAttr, NakedAttr>(attr))
                judge_.report(attr->getLocation(), "attribute",
                              std::string("__attribute__((") + attr->getSpelling() + ")) changes how or when code runs or links");
        }
        return true;
    }

    // The call graph among the patch's own functions, for the recursion check.
    const std::map<const FunctionDecl *, std::vector<std::pair<const FunctionDecl *, SourceLocation>>> &calls() const { return calls_; }

private:
    bool in_dependent_code() const { return !enclosing_.empty() && enclosing_.back()->isDependentContext(); }

    bool asm_found(SourceLocation loc) {
        if (judge_.in_patch(loc)) judge_.report(loc, "asm", "inline assembly is not allowed");
        return true;
    }
    bool goto_found(SourceLocation loc) {
        if (judge_.in_patch(loc)) judge_.report(loc, "goto", "goto is not allowed");
        return true;
    }

    void use_function(FunctionDecl *function, const Expr *reference, SourceLocation loc) {
        if (!judge_.in_patch(loc) || in_dependent_code()) return;
        bool called = reference == nullptr || callees_.count(reference) != 0;
        const FunctionDecl *target = function->getCanonicalDecl();
        if (FunctionDecl *pattern = function->getTemplateInstantiationPattern()) target = pattern->getCanonicalDecl();
        // Special members the compiler wrote (copy assignment, default constructors) only run the
        // members' own operations, which are checked where the patch names them.
        if (target->isImplicit() && isa<CXXMethodDecl>(target)) return;
        // Builtins are declared implicitly where first used, so they look like the patch's own.
        bool own = judge_.in_patch(target->getLocation()) && target->getBuiltinID() == 0 && !target->isImplicit();
        std::string name = plain_name(function);
        if (!called && !isa<CXXMethodDecl>(function))
            judge_.report(loc, "function-pointer", "takes the address of `" + name + "`: function pointers are not allowed");
        if (own) {
            if (!enclosing_.empty()) {
                const FunctionDecl *from = enclosing_.back()->getCanonicalDecl();
                if (FunctionDecl *pattern = enclosing_.back()->getTemplateInstantiationPattern()) from = pattern->getCanonicalDecl();
                calls_[from].emplace_back(target, loc);
            }
            return;
        }
        if (!judge_.allowlist().calls.matches(name))
            judge_.report(loc, "call", "uses `" + name + "`, which is not on the allowlist");
    }

    Judge &judge_;
    ASTContext &context_;
    std::vector<FunctionDecl *> enclosing_;
    std::set<const Expr *> callees_;
    std::map<const FunctionDecl *, std::vector<std::pair<const FunctionDecl *, SourceLocation>>> calls_;
};

// Tarjan's strongly connected components over the patch's call graph: a component with more
// than one function, or a function that calls itself, is recursion.
void report_recursion(Judge &judge, const RuleVisitor &visitor) {
    const auto &graph = visitor.calls();
    std::map<const FunctionDecl *, int> index, low;
    std::set<const FunctionDecl *> on_stack;
    std::vector<const FunctionDecl *> stack;
    int counter = 0;
    std::function<void(const FunctionDecl *)> connect = [&](const FunctionDecl *f) {
        index[f] = low[f] = counter++;
        stack.push_back(f);
        on_stack.insert(f);
        if (auto it = graph.find(f); it != graph.end())
            for (const auto &[g, loc] : it->second) {
                if (!index.count(g)) {
                    connect(g);
                    low[f] = std::min(low[f], low[g]);
                } else if (on_stack.count(g)) {
                    low[f] = std::min(low[f], index[g]);
                }
            }
        if (low[f] != index[f]) return;
        std::vector<const FunctionDecl *> component;
        const FunctionDecl *g;
        do {
            g = stack.back();
            stack.pop_back();
            on_stack.erase(g);
            component.push_back(g);
        } while (g != f);
        bool self_call = false;
        if (auto it = graph.find(f); it != graph.end())
            self_call = std::any_of(it->second.begin(), it->second.end(), [&](const auto &edge) { return edge.first == f; });
        if (component.size() < 2 && !self_call) return;
        std::string names;
        for (auto c = component.rbegin(); c != component.rend(); ++c) names += (names.empty() ? "`" : " -> `") + plain_name(*c) + "`";
        // Point at a call that closes the cycle.
        SourceLocation where = f->getLocation();
        for (const FunctionDecl *member : component)
            if (auto it = graph.find(member); it != graph.end())
                for (const auto &[target, loc] : it->second)
                    if (std::find(component.begin(), component.end(), target) != component.end()) where = loc;
        judge.report(where, "recursion",
                     (component.size() == 1 ? names + " calls itself" : names + " call each other") + ": recursion is not allowed (the stack is bounded)");
    };
    for (const auto &[f, edges] : graph)
        if (!index.count(f)) connect(f);
}

class IncludeAndEntryWatcher : public PPCallbacks {
public:
    IncludeAndEntryWatcher(Judge &judge, int &entry_expansions) : judge_(judge), entry_expansions_(entry_expansions) {}

    void InclusionDirective(SourceLocation hash, const Token &, StringRef file_name, bool, CharSourceRange, const FileEntry *, StringRef,
                            StringRef, const Module *, SrcMgr::CharacteristicKind) override {
        if (!judge_.sources().isWrittenInMainFile(hash)) return;
        if (!judge_.allowlist().allows_header(std::string(file_name)))
            judge_.report(hash, "include", "includes <" + file_name.str() + ">, which is not on the allowlist");
    }
    void MacroExpands(const Token &name, const MacroDefinition &, SourceRange range, const MacroArgs *) override {
        if (name.getIdentifierInfo() != nullptr && name.getIdentifierInfo()->getName() == "AICACHE_POLICY_PLUGIN" &&
            judge_.sources().isWrittenInMainFile(range.getBegin())) {
            if (++entry_expansions_ > 1) judge_.report(range.getBegin(), "entry", "a second AICACHE_POLICY_PLUGIN: a patch defines one policy");
        }
    }

private:
    Judge &judge_;
    int &entry_expansions_;
};

class ValidateConsumer : public ASTConsumer {
public:
    ValidateConsumer(std::unique_ptr<Judge> judge, int &entry_expansions, double *validate_ms)
        : judge_(std::move(judge)), entry_expansions_(entry_expansions), validate_ms_(validate_ms) {}
    // Only the patch's own top-level declarations: the headers (possibly from a precompiled
    // header) are trusted, and walking them would cost more than the rest of the compile.
    bool HandleTopLevelDecl(DeclGroupRef group) override {
        for (Decl *decl : group) own_.push_back(decl);
        return true;
    }
    void HandleTranslationUnit(ASTContext &context) override {
        // After a fatal error (a missing header) the AST is incomplete; the error is the finding.
        if (context.getDiagnostics().hasFatalErrorOccurred()) return;
        auto started = std::chrono::steady_clock::now();
        RuleVisitor visitor(*judge_, context);
        for (Decl *decl : own_) visitor.TraverseDecl(decl);
        report_recursion(*judge_, visitor);
        if (entry_expansions_ == 0) {
            SourceManager &sm = judge_->sources();
            judge_->report(sm.getLocForStartOfFile(sm.getMainFileID()), "entry",
                           "no AICACHE_POLICY_PLUGIN(Class, \"name\", \"version\"): a patch must define its policy's entry point with the SDK macro");
        }
        if (validate_ms_ != nullptr) *validate_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    }

private:
    std::unique_ptr<Judge> judge_;
    int &entry_expansions_;
    double *validate_ms_;
    std::vector<Decl *> own_;
};

// The preprocessor half (includes, the entry macro) and the AST half of the rules, for any action.
class Hooks {
public:
    Hooks(const Allowlist &allowlist, std::vector<Finding> &findings) : allowlist_(allowlist), findings_(findings) {}
    void attach(CompilerInstance &ci) {
        judge_for_preprocessor_ = std::make_unique<Judge>(allowlist_, findings_, ci.getSourceManager());
        ci.getPreprocessor().addPPCallbacks(std::make_unique<IncludeAndEntryWatcher>(*judge_for_preprocessor_, entry_expansions_));
    }
    std::unique_ptr<ASTConsumer> consumer(CompilerInstance &ci, double *validate_ms) {
        return std::make_unique<ValidateConsumer>(std::make_unique<Judge>(allowlist_, findings_, ci.getSourceManager()), entry_expansions_, validate_ms);
    }

private:
    const Allowlist &allowlist_;
    std::vector<Finding> &findings_;
    std::unique_ptr<Judge> judge_for_preprocessor_;
    int entry_expansions_ = 0;
};

class ValidateAction : public ASTFrontendAction {
public:
    ValidateAction(const Allowlist &allowlist, std::vector<Finding> &findings) : hooks_(allowlist, findings) {}
    bool BeginSourceFileAction(CompilerInstance &ci) override {
        hooks_.attach(ci);
        return true;
    }
    std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &ci, StringRef) override { return hooks_.consumer(ci, nullptr); }

private:
    Hooks hooks_;
};

class ValidateAndEmitAction : public EmitObjAction {
public:
    ValidateAndEmitAction(const Allowlist &allowlist, std::vector<Finding> &findings, double &validate_ms)
        : hooks_(allowlist, findings), validate_ms_(validate_ms) {}
    bool BeginSourceFileAction(CompilerInstance &ci) override {
        hooks_.attach(ci);
        return EmitObjAction::BeginSourceFileAction(ci);
    }
    std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &ci, StringRef file) override {
        std::vector<std::unique_ptr<ASTConsumer>> consumers;
        consumers.push_back(hooks_.consumer(ci, &validate_ms_)); // first: the rules are judged before any code is emitted
        auto backend = EmitObjAction::CreateASTConsumer(ci, file);
        if (!backend) return nullptr;
        consumers.push_back(std::move(backend));
        return std::make_unique<MultiplexConsumer>(std::move(consumers));
    }

private:
    Hooks hooks_;
    double &validate_ms_;
};

} // namespace

std::unique_ptr<FrontendAction> make_validate_action(const Allowlist &allowlist, std::vector<Finding> &findings) {
    return std::make_unique<ValidateAction>(allowlist, findings);
}

std::unique_ptr<FrontendAction> make_validate_and_emit_action(const Allowlist &allowlist, std::vector<Finding> &findings, double &validate_ms) {
    return std::make_unique<ValidateAndEmitAction>(allowlist, findings, validate_ms);
}

} // namespace aicache::jit
