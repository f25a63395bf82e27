// The NPU assembler, in three steps over all sources of a unit:
//   parse:  every line into statements; an instruction's table entry is chosen
//           here, from the operand kinds (register or expression);
//   pass 1: each statement gets its offset in its section; .org/.align/.zero
//           sizes are evaluated; sections without an address are placed;
//   pass 2: every expression is evaluated, instructions encoded, data filled.
// Errors are one line, "file:line:col: error: reason".
#include "compiler/npu/asm.h"

#include "compiler/npu/isa.h"
#include "firmware/abi.h"

#include <fmt/format.h>

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#ifndef NPU_CLANG
#define NPU_CLANG "clang"
#endif
#ifndef NPU_REPO_ROOT
#define NPU_REPO_ROOT "."
#endif

extern char** environ;

namespace npu {
namespace {

struct Loc {
  uint32_t file = 0, line = 0, col = 0;
};

// Thrown inside the assembler; assemble() turns it into an AsmError.
struct Failure {
  Loc loc;
  std::string msg;
};

[[noreturn]] void fail(Loc loc, std::string msg) {
  throw Failure{loc, std::move(msg)};
}

constexpr uint64_t kMaxSectionSize = uint64_t(1) << 28;  // bytes or instruction words

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = char(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$';
}
bool ident_char(char c) {
  return ident_start(c) || is_digit(c);
}

// r0..r31 (any case) or an alias from isa.def (fp, lr): the number; -1 for
// other names; -2 for r<digits> above 31.
int register_number(std::string_view name) {
  std::string s = lower(name);
  if (int a = reg_alias(s); a >= 0) return a;
  if (s.size() < 2 || s[0] != 'r') return -1;
  for (size_t i = 1; i < s.size(); ++i)
    if (!is_digit(s[i])) return -1;
  if (s.size() > 4) return -2;
  int n = std::stoi(s.substr(1));
  return n < int(kNumRegs) ? n : -2;
}

// ---- tokens ----

enum class Tok : uint8_t { Ident, Number, LocalRef, Char, String, Punct, End };

struct Token {
  Tok kind = Tok::End;
  std::string raw;       // as written (Punct: the operator)
  std::string str;       // String: the bytes, escapes decoded
  uint64_t value = 0;    // Number, Char; LocalRef: the label's number
  bool forward = false;  // LocalRef: "1f" (forward) or "1b"
  Loc loc;
};

std::string show(const Token& t) {
  return t.kind == Tok::End ? "end of line" : t.raw;
}

bool is_punct(const Token& t, std::string_view p) {
  return t.kind == Tok::Punct && t.raw == p;
}

int digit_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

// A C escape; s[*i] is the character after the backslash, *i ends after it.
uint8_t escape(std::string_view s, size_t* i, Loc loc) {
  if (*i >= s.size()) fail(loc, "unfinished escape sequence");
  char c = s[(*i)++];
  switch (c) {
    case 'n':
      return '\n';
    case 't':
      return '\t';
    case 'r':
      return '\r';
    case 'a':
      return '\a';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'v':
      return '\v';
    case 'e':
      return 27;
    case '\\':
    case '\'':
    case '"':
    case '?':
      return uint8_t(c);
    case 'x': {
      unsigned v = 0, n = 0;
      while (*i < s.size() && n < 2 && std::isxdigit(static_cast<unsigned char>(s[*i])))
        v = v * 16 + unsigned(digit_value(s[(*i)++])), ++n;
      if (!n) fail(loc, "\\x needs hex digits");
      return uint8_t(v);
    }
    default:
      if (c >= '0' && c <= '7') {
        unsigned v = unsigned(c - '0'), n = 1;
        while (*i < s.size() && n < 3 && s[*i] >= '0' && s[*i] <= '7')
          v = v * 8 + unsigned(s[(*i)++] - '0'), ++n;
        if (v > 255) fail(loc, "octal escape above \\377");
        return uint8_t(v);
      }
      fail(loc, fmt::format("unknown escape sequence '\\{}'", c));
  }
}

// Integer literal, or a local label reference (1b, 2f).
void lex_number(Token* t) {
  const std::string& r = t->raw;
  char last = r.back();
  if (r.size() >= 2 && (last == 'b' || last == 'f') &&
      std::all_of(r.begin(), r.end() - 1, is_digit)) {
    if (r.size() > 10) fail(t->loc, fmt::format("local label '{}' is too large", r));
    t->kind = Tok::LocalRef;
    t->value = std::stoull(r.substr(0, r.size() - 1));
    t->forward = last == 'f';
    return;
  }
  std::string s = r;
  while (s.size() > 1 && std::strchr("uUlL", s.back())) s.pop_back();  // C suffixes: 1u, 2ull
  unsigned base = 10;
  size_t at = 0;
  if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    base = 16, at = 2;
  else if (s.size() > 1 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
    base = 2, at = 2;
  else if (s.size() > 1 && s[0] == '0')
    base = 8, at = 1;
  if (at >= s.size()) fail(t->loc, fmt::format("bad number '{}'", r));
  uint64_t v = 0;
  for (size_t i = at; i < s.size(); ++i) {
    unsigned d = unsigned(digit_value(s[i]));
    if (d >= base) fail(t->loc, fmt::format("bad number '{}'", r));
    if (v > (UINT64_MAX - d) / base)
      fail(t->loc, fmt::format("number '{}' does not fit in 64 bits", r));
    v = v * base + d;
  }
  t->kind = Tok::Number;
  t->value = v;
}

// The tokens of one line, ending with an End token. *in_comment carries a
// /* comment from line to line.
std::vector<Token> lex(std::string_view s, uint32_t file, uint32_t line, bool* in_comment) {
  std::vector<Token> out;
  auto loc = [&](size_t at) { return Loc{file, line, uint32_t(at + 1)}; };
  size_t i = 0;
  while (i < s.size()) {
    if (*in_comment) {
      size_t e = s.find("*/", i);
      if (e == std::string_view::npos) {
        i = s.size();
        break;
      }
      *in_comment = false;
      i = e + 2;
      continue;
    }
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
      continue;
    }
    if (c == ';' || (c == '/' && i + 1 < s.size() && s[i + 1] == '/')) break;
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      *in_comment = true;
      i += 2;
      continue;
    }
    Token t;
    t.loc = loc(i);
    size_t b = i;
    if (ident_start(c)) {
      while (i < s.size() && ident_char(s[i])) ++i;
      t.kind = Tok::Ident;
      t.raw = s.substr(b, i - b);
    } else if (is_digit(c)) {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      t.raw = s.substr(b, i - b);
      lex_number(&t);
    } else if (c == '\'') {
      ++i;
      if (i >= s.size() || s[i] == '\'') fail(t.loc, "bad character constant");
      if (s[i] == '\\') {
        ++i;
        t.value = escape(s, &i, t.loc);
      } else {
        t.value = static_cast<unsigned char>(s[i++]);
      }
      if (i >= s.size() || s[i] != '\'') fail(t.loc, "bad character constant (missing ')");
      ++i;
      t.kind = Tok::Char;
      t.raw = s.substr(b, i - b);
    } else if (c == '"') {
      ++i;
      while (true) {
        if (i >= s.size()) fail(t.loc, "missing \" at the end of the string");
        char d = s[i++];
        if (d == '"') break;
        if (d == '\\') {
          Loc at = loc(i - 1);
          t.str += char(escape(s, &i, at));
        } else {
          t.str += d;
        }
      }
      t.kind = Tok::String;
      t.raw = s.substr(b, i - b);
    } else {
      t.kind = Tok::Punct;
      if ((c == '<' || c == '>') && i + 1 < s.size() && s[i + 1] == c) {
        t.raw = s.substr(i, 2);
        i += 2;
      } else if (std::strchr(",:[]()+-*/%&|^~=", c)) {
        t.raw = std::string(1, c);
        ++i;
      } else {
        fail(t.loc, std::isprint(static_cast<unsigned char>(c))
                        ? fmt::format("unexpected character '{}'", c)
                        : fmt::format("unexpected byte 0x{:02x}", uint8_t(c)));
      }
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.loc = loc(i);
  out.push_back(end);
  return out;
}

// ---- expressions ----

struct Node {
  enum Kind : uint8_t { Num, Sym, Dot, Unary, Binary } kind = Num;
  char op = 0;  // Unary: - ~ +; Binary: + - * / % & | ^, '<' for <<, '>' for >>
  uint64_t value = 0;
  std::string name;   // Sym: symbol name (internal for local labels)
  std::string shown;  // Sym: as written
  int lhs = -1, rhs = -1;
  Loc loc;
};

// ---- statements and symbols ----

enum class St : uint8_t { Label, Insn, InsnWord, Data, Ascii, Zero, Align, Org, Equ };

struct Operand {
  char slot;  // the syntax letter: i j o m n s q
  int expr;   // -1: no displacement written ("[r1]")
};

struct Stmt {
  St kind = St::Label;
  Loc loc;
  int sec = 0;
  uint64_t off = 0;    // pass 1: offset in the section (words or bytes)
  uint64_t count = 0;  // pass 1: units that Zero, Align and Org add
  int sym = -1;        // Label, Equ
  uint8_t size = 0;    // Data: bytes per item; Align: 1 for .p2align
  std::vector<int> exprs;
  std::string bytes;  // Ascii
  Insn insn;          // Insn: op, width and registers from the parser
  std::vector<Operand> ops;
};

struct Sym {
  enum Kind : uint8_t { Undef, Label, Equ, Set } kind = Undef;
  std::string name, shown;
  bool local_label = false;  // 1:, 2: ...; not in the object
  bool global = false;
  Loc def, global_loc;
  uint64_t order = 0;  // definition order
  // Label
  int sec = -1;
  uint64_t off = 0;
  bool placed = false;
  // Equ, Set: the (last) defining statement and its expression
  int stmt = -1, expr = -1;
  bool known = false, visiting = false;
  uint64_t value = 0;
};

struct Sec {
  std::string name;
  bool code = false;
  Loc first;  // where the section is first entered
  bool has_base = false;
  uint64_t base = 0;
  bool frozen = false;  // a label or data placed: .org pads from now on
  uint64_t size = 0;
  uint64_t align = 1;
};

// Thrown by pass-1 evaluation when a symbol's value is not known yet.
struct Unknown {
  int node;
};

const std::unordered_map<std::string, std::vector<Op>>& mnemonic_table() {
  static const auto table = [] {
    std::unordered_map<std::string, std::vector<Op>> m;
    for (unsigned i = 0; i < kNumOps; ++i) m[op_info(Op(i)).mnemonic].push_back(Op(i));
    return m;
  }();
  return table;
}

// How usage() shows an operand of syntax letter k.
// "ld.N rA, [rB+disp]": an instruction form for messages.
std::string usage(Op op) {
  const OpInfo& o = op_info(op);
  std::string s = o.mnemonic;
  if (o.nwidths) s += ".N";
  if (*o.syntax) s += ' ';
  return s + operand_usage(o);
}

std::string sizes(const OpInfo& o) {
  std::string s;
  for (unsigned k = 0; k < o.nwidths; ++k) s += fmt::format("{}.{}", k ? ", " : "", o.widths[k]);
  return s;
}

const char* slot_what(char k) {
  switch (k) {
    case 'j':
    case 'o':
      return "a branch target";
    case 's':
      return "a CSR";
    case 'q':
      return "a queue";
    default:
      return "an immediate";
  }
}

bool fits_signed(int64_t v, unsigned bits) {
  return v >= -(int64_t(1) << (bits - 1)) && v < (int64_t(1) << (bits - 1));
}

class Assembler {
 public:
  explicit Assembler(const AsmOptions& opt) : opt_(opt) {}

  void parse_source(const AsmSource& src);
  Object finish();
  std::string where(Loc l) const { return fmt::format("{}:{}:{}", files_[l.file], l.line, l.col); }

 private:
  // parsing
  void parse_line(std::string_view line, uint32_t file, uint32_t lineno, bool* in_comment);
  bool line_marker(std::string_view line, Loc at, uint32_t* file, uint32_t* lineno);
  void directive(const std::vector<Token>& t, size_t i);
  void instruction(const std::vector<Token>& t, size_t i);
  bool match(Op op, const std::vector<Token>& t, size_t i, Stmt* st, Loc* err_at, std::string* err);
  int expr(const std::vector<Token>& t, size_t* i);
  int binary(const std::vector<Token>& t, size_t* i, int min_prec);
  int unary(const std::vector<Token>& t, size_t* i);
  int add_node(Node n) {
    nodes_.push_back(std::move(n));
    return int(nodes_.size() - 1);
  }
  void expect_end(const std::vector<Token>& t, size_t i) {
    if (t[i].kind != Tok::End) fail(t[i].loc, fmt::format("unexpected '{}'", show(t[i])));
  }
  int section(const std::string& name, Loc at);
  int symbol(const std::string& name);
  void check_name(const Token& t);
  void define_label(const std::string& name, const std::string& shown, Loc at, bool local);
  void define_value(const std::vector<Token>& t, size_t n, size_t e, bool set);
  Stmt& add_stmt(St kind, Loc at) {
    stmts_.emplace_back();
    Stmt& s = stmts_.back();
    s.kind = kind;
    s.loc = at;
    s.sec = cur_;
    return s;
  }
  void require_data(const Token& d) {
    if (secs_[cur_].code)
      fail(d.loc, fmt::format("'{}' belongs in a data section, not in code section '{}'{}", d.raw,
                              secs_[cur_].name, " (.insn writes raw instruction words)"));
  }

  // passes
  void pass1();
  void layout();
  void pass2(Object* obj);
  uint64_t eval(int n, const Stmt& at, bool final);
  uint64_t eval_now(int n, const Stmt& at, const char* what);
  uint64_t symbol_value(Sym& y, int node, bool final);
  uint64_t encode_stmt(const Stmt& s);
  void grow(Sec& sec, uint64_t n, Loc at);

  const AsmOptions& opt_;
  std::vector<std::string> files_;
  std::vector<Node> nodes_;
  std::vector<Stmt> stmts_;
  std::vector<Sym> syms_;
  std::unordered_map<std::string, int> sym_index_;
  std::vector<Sec> secs_;
  std::unordered_map<uint64_t, uint32_t> local_count_;  // local label n: definitions so far
  uint32_t source_ = 0;  // sources parsed so far; local labels are per source
  uint64_t next_order_ = 0;
  int cur_ = 0;
};

int Assembler::section(const std::string& name, Loc at) {
  for (size_t i = 0; i < secs_.size(); ++i)
    if (secs_[i].name == name) return int(i);
  Sec s;
  s.name = name;
  s.code = name == ".text" || name.rfind(".text.", 0) == 0;
  s.first = at;
  auto o = opt_.section_base.find(name);
  if (o != opt_.section_base.end()) {
    s.has_base = true;
    s.base = o->second;
  } else if (name == ".text") {
    s.has_base = true;
    s.base = kDefaultTextBase;
  } else if (name == ".data") {
    s.has_base = true;
    s.base = default_data_base();
  }
  secs_.push_back(s);
  return int(secs_.size() - 1);
}

int Assembler::symbol(const std::string& name) {
  auto it = sym_index_.find(name);
  if (it != sym_index_.end()) return it->second;
  Sym y;
  y.name = y.shown = name;
  syms_.push_back(y);
  sym_index_[name] = int(syms_.size() - 1);
  return int(syms_.size() - 1);
}

void Assembler::check_name(const Token& t) {
  if (t.kind != Tok::Ident) fail(t.loc, fmt::format("expected a symbol name, got '{}'", show(t)));
  if (t.raw == ".") fail(t.loc, "'.' is the location counter, not a symbol");
  if (register_number(t.raw) != -1)
    fail(t.loc, fmt::format("'{}' is a register name, not a symbol", t.raw));
}

void Assembler::define_label(const std::string& name, const std::string& shown, Loc at,
                             bool local) {
  Sym& y = syms_[symbol(name)];
  if (y.kind != Sym::Undef)
    fail(at, fmt::format("'{}' is already defined at {}", shown, where(y.def)));
  y.kind = Sym::Label;
  y.shown = shown;
  y.local_label = local;
  y.def = at;
  y.order = next_order_++;
  y.sec = cur_;
  add_stmt(St::Label, at).sym = int(&y - syms_.data());
}

void Assembler::parse_source(const AsmSource& src) {
  files_.push_back(src.filename);
  uint32_t file = uint32_t(files_.size() - 1);
  cur_ = section(".text", Loc{file, 1, 1});
  ++source_;
  local_count_.clear();
  uint32_t line = 1;
  bool in_comment = false;
  Loc comment_at;
  const std::string& text = src.text;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view l(text.data() + pos, nl - pos);
    if (!in_comment && line_marker(l, Loc{file, line, 1}, &file, &line)) {
      pos = nl + 1;
      continue;
    }
    bool was_in = in_comment;
    parse_line(l, file, line, &in_comment);
    if (!was_in && in_comment) comment_at = Loc{file, line, uint32_t(l.rfind("/*") + 1)};
    ++line;
    pos = nl + 1;
  }
  if (in_comment) fail(comment_at, "unterminated /* comment");
}

// "# 12 "file" flags" and "#line 12 "file"" (the C preprocessor's line
// markers): the next line is line 12 of file.
bool Assembler::line_marker(std::string_view l, Loc at, uint32_t* file, uint32_t* lineno) {
  size_t i = 0;
  while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
  if (i >= l.size() || l[i] != '#') return false;
  at.col = uint32_t(i + 1);
  ++i;
  while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
  if (l.substr(i, 4) == "line") {
    i += 4;
    while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
  }
  if (i >= l.size() || !is_digit(l[i]))
    fail(at, "unexpected '#' (preprocessor directives need a file named *.S)");
  uint64_t n = 0;
  while (i < l.size() && is_digit(l[i])) {
    n = n * 10 + uint64_t(l[i++] - '0');
    if (n > UINT32_MAX) fail(at, "line number too large in line marker");
  }
  while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
  if (i < l.size() && l[i] == '"') {
    std::string name;
    ++i;
    while (i < l.size() && l[i] != '"') {
      if (l[i] == '\\') {
        ++i;
        name += char(escape(l, &i, at));
      } else {
        name += l[i++];
      }
    }
    if (i >= l.size()) fail(at, "missing \" in line marker");
    auto f = std::find(files_.begin(), files_.end(), name);
    if (f == files_.end()) f = files_.insert(files_.end(), name);
    *file = uint32_t(f - files_.begin());
  }
  *lineno = uint32_t(n);
  return true;
}

void Assembler::parse_line(std::string_view l, uint32_t file, uint32_t lineno, bool* in_comment) {
  std::vector<Token> t = lex(l, file, lineno, in_comment);
  size_t i = 0;
  // Labels: "name:" and "1:", several per line.
  while (t[i].kind != Tok::End && is_punct(t[i + 1], ":")) {
    if (t[i].kind == Tok::Number && std::all_of(t[i].raw.begin(), t[i].raw.end(), is_digit)) {
      uint64_t n = t[i].value;
      if (n > 999999999) fail(t[i].loc, "local label number too large");
      uint32_t k = local_count_[n]++;
      define_label(fmt::format("{}\x02{}\x02{}", source_, n, k), t[i].raw, t[i].loc, true);
    } else {
      check_name(t[i]);
      define_label(t[i].raw, t[i].raw, t[i].loc, false);
    }
    i += 2;
  }
  const Token& head = t[i];
  if (head.kind == Tok::End) return;
  if (head.kind == Tok::Ident && is_punct(t[i + 1], "=")) return define_value(t, i, i + 2, true);
  if (head.kind == Tok::Ident && head.raw[0] == '.' && head.raw != ".") return directive(t, i);
  if (head.kind == Tok::Ident) return instruction(t, i);
  fail(head.loc, fmt::format("expected a label, instruction or directive, got '{}'", show(head)));
}

// .equ NAME, EXPR / .set NAME, EXPR / NAME = EXPR: t[n] is the name, t[e] the
// expression's first token. Only .set symbols may be defined again.
void Assembler::define_value(const std::vector<Token>& t, size_t n, size_t e, bool set) {
  const Token& name = t[n];
  check_name(name);
  Sym& y = syms_[symbol(name.raw)];
  if (y.kind == Sym::Undef) {
    y.kind = set ? Sym::Set : Sym::Equ;
    y.def = name.loc;
    y.order = next_order_++;
  } else if (!(set && y.kind == Sym::Set)) {
    fail(name.loc, fmt::format("'{}' is already defined at {}", name.raw, where(y.def)));
  }
  int sym = int(&y - syms_.data());
  int x = expr(t, &e);
  expect_end(t, e);
  Stmt& s = add_stmt(St::Equ, name.loc);
  s.sym = sym;
  s.exprs.push_back(x);
}

void Assembler::directive(const std::vector<Token>& t, size_t i) {
  const Token& d = t[i++];
  std::string name = lower(d.raw);
  auto list = [&](std::vector<int>* out) {
    out->push_back(expr(t, &i));
    while (is_punct(t[i], ",")) {
      ++i;
      out->push_back(expr(t, &i));
    }
    expect_end(t, i);
  };
  if (name == ".text" || name == ".data" || name == ".rodata") {
    expect_end(t, i);
    cur_ = section(name, d.loc);
  } else if (name == ".section") {
    const Token& n = t[i];
    if (n.kind != Tok::Ident && n.kind != Tok::String)
      fail(n.loc, fmt::format("expected a section name, got '{}'", show(n)));
    std::string sname = n.kind == Tok::String ? n.str : n.raw;
    if (sname.empty() || sname.find('\0') != std::string::npos) fail(n.loc, "bad section name");
    expect_end(t, i + 1);
    cur_ = section(sname, n.loc);
  } else if (name == ".global" || name == ".globl") {
    while (true) {
      check_name(t[i]);
      Sym& y = syms_[symbol(t[i].raw)];
      if (!y.global) y.global_loc = t[i].loc;
      y.global = true;
      ++i;
      if (!is_punct(t[i], ",")) break;
      ++i;
    }
    expect_end(t, i);
  } else if (name == ".equ" || name == ".set") {
    if (!is_punct(t[i + 1], ","))
      fail(t[i + 1].loc,
           fmt::format("expected ',' after the symbol name, got '{}'", show(t[i + 1])));
    define_value(t, i, i + 2, name == ".set");
  } else if (name == ".byte" || name == ".half" || name == ".word" || name == ".dword") {
    require_data(d);
    Stmt& s = add_stmt(St::Data, d.loc);
    s.size = name == ".byte" ? 1 : name == ".half" ? 2 : name == ".word" ? 4 : 8;
    list(&s.exprs);
  } else if (name == ".ascii" || name == ".asciz" || name == ".string") {
    require_data(d);
    std::string bytes;
    while (true) {
      if (t[i].kind != Tok::String)
        fail(t[i].loc, fmt::format("expected a string, got '{}'", show(t[i])));
      bytes += t[i].str;
      if (name != ".ascii") bytes += '\0';
      ++i;
      if (!is_punct(t[i], ",")) break;
      ++i;
    }
    expect_end(t, i);
    add_stmt(St::Ascii, d.loc).bytes = std::move(bytes);
  } else if (name == ".zero" || name == ".space") {
    require_data(d);
    Stmt& s = add_stmt(St::Zero, d.loc);
    list(&s.exprs);
    if (s.exprs.size() > 2) fail(nodes_[s.exprs[2]].loc, "too many operands");
  } else if (name == ".align" || name == ".p2align") {
    Stmt& s = add_stmt(St::Align, d.loc);
    s.size = name == ".p2align";
    s.exprs.push_back(expr(t, &i));
    expect_end(t, i);
  } else if (name == ".org") {
    add_stmt(St::Org, d.loc).exprs.push_back(expr(t, &i));
    expect_end(t, i);
  } else if (name == ".insn") {
    if (!secs_[cur_].code)
      fail(d.loc, fmt::format("'.insn' belongs in a code section, not in '{}'", secs_[cur_].name));
    add_stmt(St::InsnWord, d.loc).exprs.push_back(expr(t, &i));
    expect_end(t, i);
  } else {
    fail(d.loc, fmt::format("unknown directive '{}'", d.raw));
  }
}

// Expressions: C operators and precedence, 64-bit two's complement; / and %
// signed, >> logical (as GNU as does).
int Assembler::expr(const std::vector<Token>& t, size_t* i) {
  return binary(t, i, 1);
}

int precedence(const Token& t) {
  if (t.kind != Tok::Punct) return 0;
  const std::string& p = t.raw;
  if (p == "|") return 1;
  if (p == "^") return 2;
  if (p == "&") return 3;
  if (p == "<<" || p == ">>") return 4;
  if (p == "+" || p == "-") return 5;
  if (p == "*" || p == "/" || p == "%") return 6;
  return 0;
}

int Assembler::binary(const std::vector<Token>& t, size_t* i, int min_prec) {
  int lhs = unary(t, i);
  while (true) {
    const Token& op = t[*i];
    int p = precedence(op);
    if (!p || p < min_prec) return lhs;
    ++*i;
    int rhs = binary(t, i, p + 1);
    Node n;
    n.kind = Node::Binary;
    n.op = op.raw == "<<" ? '<' : op.raw == ">>" ? '>' : op.raw[0];
    n.lhs = lhs;
    n.rhs = rhs;
    n.loc = op.loc;
    lhs = add_node(std::move(n));
  }
}

int Assembler::unary(const std::vector<Token>& t, size_t* i) {
  const Token& x = t[*i];
  Node n;
  n.loc = x.loc;
  if (is_punct(x, "-") || is_punct(x, "~") || is_punct(x, "+")) {
    ++*i;
    n.kind = Node::Unary;
    n.op = x.raw[0];
    n.lhs = unary(t, i);
    return add_node(std::move(n));
  }
  if (is_punct(x, "(")) {
    ++*i;
    int e = binary(t, i, 1);
    if (!is_punct(t[*i], ")")) fail(t[*i].loc, fmt::format("expected ')', got '{}'", show(t[*i])));
    ++*i;
    return e;
  }
  ++*i;
  switch (x.kind) {
    case Tok::Number:
    case Tok::Char:
      n.value = x.value;
      return add_node(std::move(n));
    case Tok::LocalRef: {
      uint32_t k = local_count_[x.value];
      if (!x.forward && k == 0)
        fail(x.loc, fmt::format("no local label '{}' before '{}'", x.value, x.raw));
      n.kind = Node::Sym;
      n.name = fmt::format("{}\x02{}\x02{}", source_, x.value, x.forward ? k : k - 1);
      n.shown = x.raw;
      return add_node(std::move(n));
    }
    case Tok::Ident: {
      if (x.raw == ".") {
        n.kind = Node::Dot;
        return add_node(std::move(n));
      }
      int r = register_number(x.raw);
      if (r == -2) fail(x.loc, fmt::format("no register '{}' (r0..r31)", x.raw));
      if (r >= 0) fail(x.loc, fmt::format("register '{}' in an expression", x.raw));
      n.kind = Node::Sym;
      n.name = n.shown = x.raw;
      return add_node(std::move(n));
    }
    default:
      --*i;
      fail(x.loc, x.kind == Tok::End ? std::string("expected an expression")
                                     : fmt::format("expected an expression, got '{}'", x.raw));
  }
}

void Assembler::instruction(const std::vector<Token>& t, size_t i) {
  const Token& m = t[i];
  std::string full = lower(m.raw);
  size_t dot = full.find('.');
  std::string base = full.substr(0, dot);
  auto it = mnemonic_table().find(base);
  if (it == mnemonic_table().end()) fail(m.loc, fmt::format("unknown instruction '{}'", m.raw));
  const std::vector<Op>& cands = it->second;
  bool any_sized = false, all_sized = true;
  for (Op op : cands) {
    any_sized |= op_info(op).nwidths > 0;
    all_sized &= op_info(op).nwidths > 0;
  }
  unsigned width = 0;
  if (dot != std::string::npos) {
    std::string suf = full.substr(dot + 1);
    if (!any_sized) fail(m.loc, fmt::format("'{}' takes no size suffix", base));
    if (suf.empty() || suf.size() > 2 || !std::all_of(suf.begin(), suf.end(), is_digit))
      fail(m.loc, fmt::format("bad size suffix '.{}' on '{}' (sizes: {})", suf, base,
                              sizes(op_info(cands[0]))));
    width = unsigned(std::stoi(suf));
  } else if (all_sized) {
    fail(m.loc, fmt::format("'{}' needs a size suffix ({})", base, sizes(op_info(cands[0]))));
  }
  if (!secs_[cur_].code)
    fail(m.loc, fmt::format("instruction '{}' in data section '{}'", m.raw, secs_[cur_].name));

  // The table entry whose syntax the operands match; else the failure that
  // got furthest along the line.
  Stmt st;
  Loc best_at{0, 0, 0};
  std::string best;
  bool found = false;
  for (Op op : cands) {
    Stmt s;
    Loc at;
    std::string why;
    size_t mark = nodes_.size();
    if (match(op, t, i + 1, &s, &at, &why)) {
      st = std::move(s);
      found = true;
      break;
    }
    nodes_.resize(mark);
    if (best.empty() || at.col > best_at.col) best_at = at, best = why;
  }
  if (!found) {
    std::string forms;
    for (Op op : cands) forms += (forms.empty() ? "" : " | ") + usage(op);
    fail(best_at, fmt::format("{} (expected {})", best, forms));
  }
  const OpInfo& o = op_info(st.insn.op);
  if (o.nwidths && opcode_of(st.insn.op, width) < 0) {
    bool elsewhere = false;
    for (Op op : cands) elsewhere |= op != st.insn.op && opcode_of(op, width) >= 0;
    fail(m.loc, fmt::format("'{}' has no size {}{} (sizes: {})", base, width,
                            elsewhere ? " with these operands" : "", sizes(o)));
  }
  if (!o.nwidths && width)
    fail(m.loc, fmt::format("'{}' takes no size suffix with these operands", base));
  st.insn.width = uint8_t(width);
  Stmt& s = add_stmt(St::Insn, m.loc);
  s.insn = st.insn;
  s.ops = std::move(st.ops);
}

bool Assembler::match(Op op, const std::vector<Token>& t, size_t i, Stmt* st, Loc* err_at,
                      std::string* err) {
  st->insn.op = op;
  auto no = [&](const Token& x, std::string why) {
    *err_at = x.loc;
    *err = std::move(why);
    return false;
  };
  try {
    for (const char* p = op_info(op).syntax; *p; ++p) {
      const Token& x = t[i];
      if (*p == ' ') continue;
      if (*p != '%') {
        if (is_punct(x, std::string(1, *p))) {
          ++i;
          continue;
        }
        if (x.kind == Tok::End) return no(x, *p == ']' ? "expected ']'" : "too few operands");
        return no(x, fmt::format("expected '{}', got '{}'", *p, show(x)));
      }
      char k = *++p;
      switch (k) {
        case 'a':
        case 'b':
        case 'c':
        case 'd':
        case 'e': {
          if (x.kind == Tok::End) return no(x, "too few operands");
          int r = x.kind == Tok::Ident ? register_number(x.raw) : -1;
          if (r == -2) return no(x, fmt::format("no register '{}' (r0..r31)", x.raw));
          if (r < 0) return no(x, fmt::format("expected a register, got '{}'", show(x)));
          uint8_t* f[] = {&st->insn.a, &st->insn.b, &st->insn.c, &st->insn.d, &st->insn.e};
          *f[k - 'a'] = uint8_t(r);
          ++i;
          break;
        }
        case 'i':
        case 'j':
        case 'o':
        case 'q':
        case 's': {
          if (x.kind == Tok::End) return no(x, "too few operands");
          if (x.kind == Tok::Ident && register_number(x.raw) >= 0)
            return no(x, fmt::format("expected {}, got register '{}'", slot_what(k), x.raw));
          int e = expr(t, &i);
          if (k == 's' && nodes_[e].kind == Node::Sym)
            if (const CsrInfo* c = csr_by_name(lower(nodes_[e].name))) {
              nodes_[e].kind = Node::Num;
              nodes_[e].value = c->number;
            }
          st->ops.push_back({k, e});
          break;
        }
        case 'm':
        case 'n':
          if (is_punct(x, "]")) {
            st->ops.push_back({k, -1});
          } else if (is_punct(x, "+") || is_punct(x, "-")) {
            st->ops.push_back({k, expr(t, &i)});  // the sign belongs to the expression
          } else {
            return no(x, fmt::format("expected '+', '-' or ']', got '{}'", show(x)));
          }
          break;
        default:
          return no(x, "bad syntax in isa.def");
      }
    }
  } catch (const Failure& f) {
    *err_at = f.loc;
    *err = f.msg;
    return false;
  }
  if (t[i].kind != Tok::End)
    return no(t[i], is_punct(t[i], ",") ? std::string("too many operands")
                                        : fmt::format("unexpected '{}'", show(t[i])));
  return true;
}

// ---- pass 1: offsets and layout ----

void Assembler::grow(Sec& sec, uint64_t n, Loc at) {
  if (n > kMaxSectionSize || sec.size + n > kMaxSectionSize)
    fail(at, fmt::format("section '{}' would exceed {} {}", sec.name, kMaxSectionSize,
                         sec.code ? "instructions" : "bytes"));
  sec.size += n;
  sec.frozen = true;
}

uint64_t Assembler::eval_now(int n, const Stmt& at, const char* what) {
  try {
    return eval(n, at, false);
  } catch (const Unknown& u) {
    const Node& x = nodes_[u.node];
    if (x.kind == Node::Dot)
      fail(x.loc, fmt::format("{} uses '.' in section '{}', whose address is not fixed yet", what,
                              secs_[at.sec].name));
    fail(x.loc, fmt::format("{} must be known here, but the value of '{}' is not (it is defined "
                            "later, or its section has no address yet)",
                            what, x.shown));
  }
}

void Assembler::pass1() {
  for (size_t k = 0; k < stmts_.size(); ++k) {
    Stmt& s = stmts_[k];
    Sec& sec = secs_[s.sec];
    s.off = sec.size;
    switch (s.kind) {
      case St::Label: {
        Sym& y = syms_[s.sym];
        y.off = sec.size;
        y.placed = true;
        sec.frozen = true;
        break;
      }
      case St::Insn:
      case St::InsnWord:
        grow(sec, 1, s.loc);
        break;
      case St::Data:
        grow(sec, uint64_t(s.size) * s.exprs.size(), s.loc);
        break;
      case St::Ascii:
        grow(sec, s.bytes.size(), s.loc);
        break;
      case St::Zero: {
        s.count = eval_now(s.exprs[0], s, "the size of '.zero'");
        if (s.count > kMaxSectionSize)
          fail(nodes_[s.exprs[0]].loc, fmt::format("'.zero' size {} is too large", s.count));
        grow(sec, s.count, s.loc);
        break;
      }
      case St::Align: {
        uint64_t a = eval_now(s.exprs[0], s, "the alignment");
        if (s.size) {
          if (a > 16) fail(nodes_[s.exprs[0]].loc, fmt::format("'.p2align {}' is too large", a));
          a = uint64_t(1) << a;
        }
        if (a == 0 || (a & (a - 1)) || a > (1u << 16))
          fail(nodes_[s.exprs[0]].loc,
               fmt::format("alignment {} is not a power of two up to 65536", int64_t(a)));
        sec.align = std::max(sec.align, a);
        uint64_t here = sec.has_base ? sec.base + sec.size : sec.size;
        s.count = (a - here % a) % a;
        grow(sec, s.count, s.loc);
        break;
      }
      case St::Org: {
        uint64_t v = eval_now(s.exprs[0], s, "the address of '.org'");
        if (!sec.frozen) {
          sec.base = v;
          sec.has_base = true;
          break;
        }
        if (!sec.has_base)
          fail(s.loc, fmt::format("'.org' cannot pad section '{}', which has no address yet (give "
                                  "it one with a .org before its first label or data)",
                                  sec.name));
        uint64_t here = sec.base + sec.size;
        if (v < here)
          fail(nodes_[s.exprs[0]].loc,
               fmt::format("'.org 0x{:x}' is below the current address 0x{:x} of section '{}'", v,
                           here, sec.name));
        s.count = v - here;
        grow(sec, s.count, s.loc);
        break;
      }
      case St::Equ: {
        Sym& y = syms_[s.sym];
        y.stmt = int(k);
        y.expr = s.exprs[0];
        try {
          y.value = eval(y.expr, s, false);
          y.known = true;
        } catch (const Unknown&) {
          y.known = false;
        }
        break;
      }
    }
  }
}

void Assembler::layout() {
  // Sections without an address go after .text (code) or .data (data), in
  // order (.rodata first), each at the first place that is aligned and free.
  for (bool code : {true, false}) {
    const char* first = code ? ".text" : ".data";
    auto o = opt_.section_base.find(first);
    uint64_t cursor = o != opt_.section_base.end() ? o->second
                      : code                       ? kDefaultTextBase
                                                   : default_data_base();
    std::vector<size_t> placed, order;
    for (size_t i = 0; i < secs_.size(); ++i) {
      if (secs_[i].code != code) continue;
      if (secs_[i].name == first) cursor = secs_[i].base + secs_[i].size;
      (secs_[i].has_base ? placed : order).push_back(i);
    }
    std::stable_partition(order.begin(), order.end(),
                          [&](size_t i) { return secs_[i].name == ".rodata"; });
    for (size_t i : order) {
      Sec& s = secs_[i];
      uint64_t a = std::max<uint64_t>(s.align, code ? 1 : 8), base;
      while (true) {
        base = (cursor + a - 1) & ~(a - 1);
        if (base < cursor || base + s.size < base)
          fail(s.first, fmt::format("no room for section '{}'", s.name));
        auto clash = std::find_if(placed.begin(), placed.end(), [&](size_t k) {
          const Sec& p = secs_[k];
          return p.size && s.size && base < p.base + p.size && p.base < base + s.size;
        });
        if (clash == placed.end()) break;
        cursor = secs_[*clash].base + secs_[*clash].size;
      }
      s.base = base;
      s.has_base = true;
      placed.push_back(i);
      cursor = base + s.size;
    }
  }
  for (size_t i = 0; i < secs_.size(); ++i) {
    const Sec& a = secs_[i];
    if (a.base + a.size < a.base)
      fail(a.first, fmt::format("section '{}' at 0x{:x} runs past the end of the address space",
                                a.name, a.base));
    for (size_t j = 0; j < i; ++j) {
      const Sec& b = secs_[j];
      if (a.code != b.code || !a.size || !b.size) continue;
      if (a.base < b.base + b.size && b.base < a.base + a.size)
        fail(a.first,
             fmt::format("section '{}' [0x{:x}, 0x{:x}) overlaps section '{}' [0x{:x}, "
                         "0x{:x})",
                         a.name, a.base, a.base + a.size, b.name, b.base, b.base + b.size));
    }
  }
}

// ---- evaluation ----

uint64_t Assembler::symbol_value(Sym& y, int node, bool final) {
  const Node& x = nodes_[node];
  switch (y.kind) {
    case Sym::Label:
      if (!y.placed || !secs_[y.sec].has_base) throw Unknown{node};
      return secs_[y.sec].base + y.off;
    case Sym::Equ:
    case Sym::Set: {
      if (y.known) return y.value;
      if (!final) throw Unknown{node};
      if (y.visiting) fail(x.loc, fmt::format("'{}' is defined in terms of itself", y.shown));
      y.visiting = true;
      uint64_t v = eval(y.expr, stmts_[y.stmt], true);
      y.visiting = false;
      y.value = v;
      y.known = true;
      return v;
    }
    case Sym::Undef:
      break;
  }
  if (!final) throw Unknown{node};
  fail(x.loc, y.local_label || x.name != x.shown
                  ? fmt::format("undefined local label '{}'", x.shown)
                  : fmt::format("undefined symbol '{}'", x.shown));
}

uint64_t Assembler::eval(int n, const Stmt& at, bool final) {
  const Node& x = nodes_[n];
  switch (x.kind) {
    case Node::Num:
      return x.value;
    case Node::Dot: {
      const Sec& sec = secs_[at.sec];
      if (!sec.has_base) throw Unknown{n};
      return sec.base + at.off;
    }
    case Node::Sym: {
      auto it = sym_index_.find(x.name);
      if (it == sym_index_.end()) {
        if (!final) throw Unknown{n};
        fail(x.loc, x.name != x.shown ? fmt::format("undefined local label '{}'", x.shown)
                                      : fmt::format("undefined symbol '{}'", x.shown));
      }
      return symbol_value(syms_[it->second], n, final);
    }
    case Node::Unary: {
      uint64_t v = eval(x.lhs, at, final);
      return x.op == '-' ? 0 - v : x.op == '~' ? ~v : v;
    }
    case Node::Binary:
      break;
  }
  uint64_t l = eval(x.lhs, at, final), r = eval(x.rhs, at, final);
  switch (x.op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
    case '%': {
      if (r == 0) fail(x.loc, "division by zero");
      int64_t a = int64_t(l), b = int64_t(r);
      if (b == -1) return x.op == '/' ? 0 - l : 0;
      return uint64_t(x.op == '/' ? a / b : a % b);
    }
    case '&':
      return l & r;
    case '|':
      return l | r;
    case '^':
      return l ^ r;
    case '<':
      return r >= 64 ? 0 : l << r;
    case '>':
      return r >= 64 ? 0 : l >> r;  // logical, as in GNU as
  }
  fail(x.loc, "bad operator");
}

// ---- pass 2: encoding ----

uint64_t Assembler::encode_stmt(const Stmt& s) {
  Insn in = s.insn;
  uint64_t pc = secs_[s.sec].base + s.off;
  const unsigned off_bits = field_info(Field::OFF).bits;
  for (const Operand& op : s.ops) {
    Loc at = op.expr >= 0 ? nodes_[op.expr].loc : s.loc;
    if (op.slot == 's' && nodes_[op.expr].kind == Node::Sym &&
        !sym_index_.count(nodes_[op.expr].name))
      fail(at, fmt::format("unknown CSR '{}'", nodes_[op.expr].shown));
    uint64_t v = op.expr >= 0 ? eval(op.expr, s, true) : 0;
    int64_t sv = int64_t(v);
    switch (op.slot) {
      case 'i':
      case 'q':
      case 's':
        if (sv < INT32_MIN || sv > int64_t(UINT32_MAX))
          fail(at, fmt::format("value {} does not fit in 32 bits", sv));
        in.imm = int32_t(uint32_t(v));
        break;
      case 'j':
      case 'o': {
        int64_t rel = int64_t(v - pc);
        unsigned bits = op.slot == 'j' ? 32 : off_bits;
        if (!fits_signed(rel, bits))
          fail(at, fmt::format("branch target {} is out of reach from {}: offset {} does not fit "
                               "in {} bits",
                               sv, pc, rel, bits));
        if (op.slot == 'j')
          in.imm = int32_t(rel);
        else
          in.off = int16_t(rel);
        break;
      }
      case 'm':
      case 'n': {
        unsigned bits = op.slot == 'm' ? 32 : off_bits;
        if (!fits_signed(sv, bits))
          fail(at, fmt::format("displacement {} does not fit in {} bits (signed)", sv, bits));
        if (op.slot == 'm')
          in.imm = int32_t(sv);
        else
          in.off = int16_t(sv);
        break;
      }
    }
  }
  try {
    return encode(in);
  } catch (const std::invalid_argument& e) {
    fail(s.loc, e.what());
  }
}

void Assembler::pass2(Object* obj) {
  for (const Sec& sec : secs_) {
    Object::Section o;
    o.name = sec.name;
    o.code = sec.code;
    o.base = sec.base;
    if (sec.code)
      o.words.assign(sec.size, 0);
    else
      o.bytes.assign(sec.size, 0);
    obj->sections.push_back(std::move(o));
  }
  for (const Stmt& s : stmts_) {
    Object::Section& out = obj->sections[s.sec];
    switch (s.kind) {
      case St::Insn:
        out.words[s.off] = encode_stmt(s);
        break;
      case St::InsnWord:
        out.words[s.off] = eval(s.exprs[0], s, true);
        break;
      case St::Data:
        for (size_t k = 0; k < s.exprs.size(); ++k) {
          uint64_t v = eval(s.exprs[k], s, true);
          int64_t sv = int64_t(v);
          if (s.size < 8) {
            int64_t lo = -(int64_t(1) << (8 * s.size - 1)), hi = (int64_t(1) << (8 * s.size)) - 1;
            if (sv < lo || sv > hi)
              fail(nodes_[s.exprs[k]].loc, fmt::format("value {} does not fit in {} byte{}", sv,
                                                       s.size, s.size > 1 ? "s" : ""));
          }
          for (unsigned b = 0; b < s.size; ++b)
            out.bytes[s.off + k * s.size + b] = uint8_t(v >> (8 * b));
        }
        break;
      case St::Ascii:
        std::copy(s.bytes.begin(), s.bytes.end(), out.bytes.begin() + s.off);
        break;
      case St::Zero:
        if (s.exprs.size() > 1) {
          int64_t fill = int64_t(eval(s.exprs[1], s, true));
          if (fill < -128 || fill > 255)
            fail(nodes_[s.exprs[1]].loc, fmt::format("fill value {} does not fit in a byte", fill));
          std::fill_n(out.bytes.begin() + s.off, s.count, uint8_t(fill));
        }
        break;
      case St::Equ: {
        Sym& y = syms_[s.sym];
        if (y.kind == Sym::Set || !y.known) {
          y.value = eval(s.exprs[0], s, true);
          y.known = true;
        }
        break;
      }
      default:
        break;
    }
  }
}

Object Assembler::finish() {
  for (const Sym& y : syms_)
    if (y.global && y.kind == Sym::Undef)
      fail(y.global_loc, fmt::format("global symbol '{}' is never defined", y.name));
  pass1();
  layout();
  Object obj;
  pass2(&obj);
  std::vector<const Sym*> out;
  for (const Sym& y : syms_)
    if (y.kind != Sym::Undef && !y.local_label) out.push_back(&y);
  std::sort(out.begin(), out.end(), [](const Sym* a, const Sym* b) { return a->order < b->order; });
  for (const Sym* y : out) {
    Object::Symbol s;
    s.name = y->name;
    s.global = y->global;
    if (y->kind == Sym::Label) {
      s.section = y->sec;
      s.value = secs_[y->sec].base + y->off;
    } else {
      s.value = y->value;
    }
    obj.symbols.push_back(s);
  }
  // The canonical order (a listing assembles back to the same table): local
  // before global; absolute symbols in definition order, then labels by
  // section and address.
  std::stable_sort(obj.symbols.begin(), obj.symbols.end(),
                   [](const Object::Symbol& a, const Object::Symbol& b) {
                     if (a.global != b.global) return !a.global;
                     if (a.section != b.section) return a.section < b.section;
                     return a.section >= 0 && a.value < b.value;
                   });
  if (const Object::Symbol* e = obj.find_symbol("_start")) obj.entry = e->value;
  return obj;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw AsmError(fmt::format("{}: cannot read: is a directory", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw AsmError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Run {
  int status = -1;
  std::string out, err;
};

// Runs argv with stdout and stderr captured; exec failures throw.
Run run(const std::vector<std::string>& args) {
  int out[2], err[2];
  if (pipe(out) != 0) throw AsmError(fmt::format("pipe: {}", std::strerror(errno)));
  if (pipe(err) != 0) {
    close(out[0]);
    close(out[1]);
    throw AsmError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addclose(&fa, err[0]);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    throw AsmError(
        fmt::format("cannot run the C preprocessor '{}': {}", args[0], std::strerror(rc)));
  }
  Run r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* dst[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[k].fd, buf, sizeof buf);
      if (n > 0) {
        dst[k]->append(buf, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& f : fds)
    if (f.fd >= 0) close(f.fd);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return r;
}

}  // namespace

uint64_t default_data_base() {
  return uint64_t(NPU_CLS_BASE) + NPU_CLS_FW_DATA;
}

const Object::Section* Object::find_section(std::string_view name) const {
  for (const Section& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}

const Object::Symbol* Object::find_symbol(std::string_view name) const {
  for (const Symbol& s : symbols)
    if (s.name == name) return &s;
  return nullptr;
}

bool operator==(const Object::Section& a, const Object::Section& b) {
  return a.name == b.name && a.code == b.code && a.base == b.base && a.words == b.words &&
         a.bytes == b.bytes;
}
bool operator==(const Object::Symbol& a, const Object::Symbol& b) {
  return a.name == b.name && a.value == b.value && a.section == b.section && a.global == b.global;
}
bool operator==(const Object::Program& a, const Object::Program& b) {
  return a.name == b.name && a.section == b.section && a.entry == b.entry &&
         a.stack_size == b.stack_size && a.bpf_insns == b.bpf_insns && a.npu_insns == b.npu_insns;
}
bool operator==(const Object::Map& a, const Object::Map& b) {
  return a.name == b.name && a.type == b.type && a.key_size == b.key_size &&
         a.value_size == b.value_size && a.max_entries == b.max_entries && a.flags == b.flags &&
         a.inner_map == b.inner_map && a.global_data == b.global_data && a.initial == b.initial;
}
bool operator==(const Object::Reloc& a, const Object::Reloc& b) {
  return a.insn == b.insn && a.kind == b.kind && a.map == b.map && a.helper == b.helper &&
         a.addend == b.addend;
}
bool operator==(const Object& a, const Object& b) {
  return a.sections == b.sections && a.symbols == b.symbols && a.entry == b.entry &&
         a.programs == b.programs && a.maps == b.maps && a.relocs == b.relocs &&
         a.features == b.features;
}

Object assemble(const std::vector<AsmSource>& sources, const AsmOptions& opt) {
  Assembler a(opt);
  try {
    for (const AsmSource& s : sources) a.parse_source(s);
    return a.finish();
  } catch (const Failure& f) {
    throw AsmError(fmt::format("{}: error: {}", a.where(f.loc), f.msg));
  }
}

Object assemble(const std::string& text, const std::string& filename, const AsmOptions& opt) {
  return assemble(std::vector<AsmSource>{{text, filename}}, opt);
}

std::string preprocess(const std::string& path, const AsmOptions& opt) {
  read_file(path);  // a missing file: the same message as for .s files
  std::vector<std::string> args = {opt.cpp.empty() ? std::string(NPU_CLANG) : opt.cpp,
                                   "-E",
                                   "-undef",
                                   "-x",
                                   "assembler-with-cpp",
                                   "-D__ASSEMBLER__"};
  for (const std::string& d : opt.include_dirs) args.push_back("-I" + d);
  if (opt.repo_include) args.push_back(std::string("-I") + NPU_REPO_ROOT);
  args.push_back(path);
  Run r = run(args);
  if (r.status != 0) {
    std::string first, line;
    std::istringstream in(r.err);
    while (std::getline(in, line)) {
      if (first.empty() && !line.empty()) first = line;
      if (line.find("error:") != std::string::npos) {
        first = line;
        break;
      }
    }
    if (first.empty())
      first = fmt::format("{}: the C preprocessor failed (exit {})", path, r.status);
    throw AsmError(first);
  }
  return r.out;
}

Object assemble_files(const std::vector<std::string>& paths, const AsmOptions& opt) {
  std::vector<AsmSource> sources;
  for (const std::string& p : paths) {
    bool cpp = p.size() > 2 && p.compare(p.size() - 2, 2, ".S") == 0;
    sources.push_back({cpp ? preprocess(p, opt) : read_file(p), p});
  }
  return assemble(sources, opt);
}

}  // namespace npu
