-- End-to-end check of the plugin inside a real (headless) Neovim, driven like a user:
-- keys go through nvim_input, so insert mode, autocommands, timers and keymaps all run
-- for real. Run by tests/test_editor_nvim.py:
--   nvim --headless --clean --cmd 'set rtp^=editors/nvim' -c 'luafile editors/nvim/tests/e2e.lua' FILE
-- Environment: HERMES_E2E_SCENARIO (ghost | action), HERMES_E2E_RESULT (JSON written at the
-- end), HERMES_E2E_SERVER (hermes-lsp executable), HERMES_E2E_ENDPOINT (model server URL),
-- HERMES_E2E_ACTION (code action kind to apply, action scenario), HERMES_E2E_STATUS (the
-- hermes/status state to wait for before going on; default ready).
-- Every wait is bounded, and a watchdog writes what was seen and quits if anything hangs.
local env = vim.env
local results = { errors = {}, steps = {} }
local done = false

local function lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

local function finish()
  if done then
    return
  end
  done = true
  local file = assert(io.open(env.HERMES_E2E_RESULT, "w"))
  file:write(vim.json.encode(results))
  file:close()
  vim.cmd("qall!")
end

local function step(name)
  results.steps[#results.steps + 1] = name
end

local function now()
  return vim.uv.hrtime() / 1e6
end

local co
local function sleep(ms)
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      results.errors[#results.errors + 1] = tostring(err)
      finish()
    end
  end, ms)
  coroutine.yield()
end

local function wait_for(what, timeout_ms, predicate)
  local deadline = now() + timeout_ms
  while now() < deadline do
    local value = predicate()
    if value then
      return value
    end
    sleep(20)
  end
  error("timed out after " .. timeout_ms .. " ms waiting for " .. what, 0)
end

local function input(keys)
  vim.api.nvim_input(keys)
  sleep(30) -- let the main loop consume the keys
end

local function setup()
  require("hermes_lsp").setup({
    cmd = { env.HERMES_E2E_SERVER, "--stdio" },
    settings = { endpoint = env.HERMES_E2E_ENDPOINT, completion = { debounceMs = 0 } },
    ghost_text = { debounce_ms = 30 },
  })
  results.client = wait_for("hermes-lsp to attach", 15000, function()
    local client = vim.lsp.get_clients({ name = "hermes_lsp", bufnr = 0 })[1]
    return client and client.initialized and { id = client.id, name = client.name } or nil
  end)
  step("attached")
  -- The first notifications may come from indexing; wait for the state the test expects.
  local status = require("hermes_lsp.status")
  pcall(wait_for, "the expected hermes/status", 15000, function()
    return status.state == (env.HERMES_E2E_STATUS or "ready")
  end)
  results.status = { state = status.state, message = status.message }
end

local function ghost_extmarks()
  local ns = require("hermes_lsp.ghost").namespace
  local marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })
  local seen = {}
  for _, mark in ipairs(marks) do
    local details = mark[4]
    local text = {}
    for _, chunk in ipairs(details.virt_text or {}) do
      text[#text + 1] = chunk[1]
    end
    local virt_lines = {}
    for _, vline in ipairs(details.virt_lines or {}) do
      local parts = {}
      for _, chunk in ipairs(vline) do
        parts[#parts + 1] = chunk[1]
      end
      virt_lines[#virt_lines + 1] = table.concat(parts)
    end
    seen[#seen + 1] = {
      row = mark[2],
      col = mark[3],
      virt_text = table.concat(text),
      virt_lines = virt_lines,
      hl_group = details.virt_text and details.virt_text[1] and details.virt_text[1][2] or nil,
      pos = details.virt_text_pos,
    }
  end
  return seen
end

local scenarios = {}

-- Ghost text: open a line in insert mode and see the suggestion drawn; dismiss it; ask
-- for it again; type part of it (the ghost text shrinks); accept the rest with <Tab>.
function scenarios.ghost()
  setup()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  input("o")
  results.mode_after_o = vim.api.nvim_get_mode().mode
  results.ghost_shown = wait_for("ghost text", 10000, function()
    local marks = ghost_extmarks()
    return #marks > 0 and marks or nil
  end)
  results.cursor_when_shown = vim.api.nvim_win_get_cursor(0)
  results.termguicolors = vim.o.termguicolors
  results.ghost_hl = vim.api.nvim_get_hl(0, { name = "HermesGhostText", link = false })
  results.normal_hl = vim.api.nvim_get_hl(0, { name = "Normal", link = false })
  step("ghost shown")
  input("<C-]>")
  results.ghost_after_dismiss = ghost_extmarks()
  results.line_after_dismiss = lines()[2]
  input("<M-]>")
  results.ghost_after_next = wait_for("ghost text on request", 10000, function()
    local marks = ghost_extmarks()
    return #marks > 0 and marks or nil
  end)
  input("re")
  sleep(150)
  results.ghost_after_typing = ghost_extmarks()
  input("<Tab>")
  wait_for("the suggestion to be inserted", 5000, function()
    return #ghost_extmarks() == 0 and lines()[2] ~= "    re"
  end)
  results.mode_after_accept = vim.api.nvim_get_mode().mode
  results.cursor_after_accept = vim.api.nvim_win_get_cursor(0)
  input("<Esc>")
  results.lines_after_accept = lines()
  step("accepted")
  -- The model has nothing for the next line: <Tab> is an ordinary key again.
  input("o")
  sleep(300)
  results.line_before_plain_tab = lines()[3]
  input("<Tab>x<Esc>")
  results.line_after_plain_tab = lines()[3]
end

local function ghost_text()
  local marks = ghost_extmarks()
  return #marks > 0 and marks[1].virt_text or nil
end

--- `o` under line 1, and the ghost text that appears there.
local function open_line_for_ghost()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  input("o")
  return wait_for("ghost text", 10000, ghost_text)
end

-- Cycling: <M-]> asks for more suggestions and shows the next different one, <M-[> goes
-- back, and <M-]> again cycles without asking; <Tab> accepts the one on screen.
function scenarios.cycle()
  setup()
  results.first = open_line_for_ghost()
  input("<M-]>")
  results.second = wait_for("another suggestion", 10000, function()
    local text = ghost_text()
    return text ~= results.first and text or nil
  end)
  results.second_position = require("hermes_lsp.ghost").current()
  input("<M-[>")
  results.back = ghost_text()
  input("<M-]>")
  results.again = ghost_text()
  input("<Tab>")
  input("<Esc>")
  results.lines_after_accept = lines()
end

-- <M-Right> takes one word of the suggestion at a time; the rest stays on screen.
function scenarios.accept_word()
  setup()
  results.shown = open_line_for_ghost()
  input("<M-Right>")
  results.line_after_word = lines()[2]
  sleep(50)
  results.ghost_after_word = ghost_text()
  input("<M-Right>")
  results.line_after_two_words = lines()[2]
  sleep(50)
  results.ghost_after_two_words = ghost_text()
  input("<Tab>")
  input("<Esc>")
  results.lines_after_accept = lines()
end

-- :HermesDisable / :HermesEnable / :HermesToggle with a scope: while off, typing sends no
-- request (the test checks the model server saw none) and the statusline says so.
function scenarios.toggle()
  setup()
  local toggle = require("hermes_lsp.toggle")
  local buf = vim.api.nvim_get_current_buf()
  -- Which scope wins: the buffer over the filetype over the global switch.
  vim.cmd("HermesDisable global")
  results.off_global = toggle.enabled(buf)
  vim.cmd("HermesEnable filetype")
  results.on_by_filetype = toggle.enabled(buf)
  vim.cmd("HermesDisable buffer")
  results.off_by_buffer = toggle.enabled(buf)
  vim.cmd("HermesToggle buffer")
  results.toggled_buffer = toggle.enabled(buf)
  vim.cmd("HermesEnable global")
  vim.b[buf].hermes_enabled = nil
  -- Off in this buffer: type, pause well past the debounce, nothing is asked.
  vim.cmd("HermesDisable buffer")
  results.statusline_off = require("hermes_lsp").statusline()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  input("o")
  input("re")
  sleep(500)
  results.ghost_while_off = ghost_extmarks()
  local marker = assert(io.open(env.HERMES_E2E_MARK, "w"))
  marker:write("off")
  marker:close()
  input("<Esc>")
  vim.cmd("HermesEnable buffer")
  input("A")
  input("<BS>")
  results.ghost_when_on = wait_for("ghost text once on", 10000, ghost_text)
  input("<Esc>")
end

-- :HermesWhy after a request that brought nothing, and while switched off.
function scenarios.why()
  setup()
  results.messages = {}
  vim.notify = function(message)
    results.messages[#results.messages + 1] = message
  end
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  input("o")
  wait_for("the model to be asked", 10000, function()
    return not require("hermes_lsp.ghost").pending(0) and vim.uv.fs_stat(env.HERMES_E2E_MARK) ~= nil
  end)
  input("<Esc>")
  vim.cmd("HermesWhy")
  wait_for("the answer", 5000, function()
    return #results.messages > 0
  end)
  vim.cmd("HermesDisable buffer")
  vim.cmd("HermesWhy")
end

-- :HermesLog opens the server's own log file.
function scenarios.log()
  setup()
  vim.cmd("HermesLog")
  results.log_name = vim.api.nvim_buf_get_name(0)
  results.log_lines = vim.api.nvim_buf_line_count(0)
end

-- Feedback: the statusline spins while a suggestion is fetched and while an action runs,
-- and the action's progress is shown in the message area.
function scenarios.busy()
  setup()
  local hermes = require("hermes_lsp")
  local status = require("hermes_lsp.status")
  wait_for("indexing to end", 10000, function()
    return status.finished > 0 and status.progress == "" and hermes.statusline() == "Hermes ✓"
  end)
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  input("o")
  results.statusline_fetching = wait_for("the spinner", 10000, function()
    return require("hermes_lsp.ghost").pending(0) and hermes.statusline() or nil
  end)
  wait_for("ghost text", 10000, ghost_text)
  results.statusline_after = hermes.statusline()
  input("<Esc>")
  vim.cmd("undo")
  local echoed, echo = {}, vim.api.nvim_echo
  vim.api.nvim_echo = function(chunks, history, opts)
    echoed[#echoed + 1] = chunks[1] and chunks[1][1] or ""
    return echo(chunks, history, opts)
  end
  local seen, before = {}, table.concat(lines(), "\n")
  vim.api.nvim_win_set_cursor(0, { tonumber(env.HERMES_E2E_LINE or "1"), 0 })
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { env.HERMES_E2E_ACTION }, diagnostics = {} },
    filter = function(action)
      return action.kind == env.HERMES_E2E_ACTION
    end,
  })
  wait_for("the action's edit", 20000, function()
    local line = hermes.statusline()
    if seen[#seen] ~= line then
      seen[#seen + 1] = line
    end
    return table.concat(lines(), "\n") ~= before
  end)
  results.statuslines_during_action = seen
  results.echoed = echoed
end

-- A multi-line suggestion accepted one line at a time with <M-l>.
function scenarios.accept_line()
  setup()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  input("o")
  results.ghost_shown = wait_for("ghost text", 10000, function()
    local marks = ghost_extmarks()
    return #marks > 0 and marks or nil
  end)
  input("<M-l>")
  results.lines_after_accept_line = lines()
  results.cursor_after_accept_line = vim.api.nvim_win_get_cursor(0)
  results.mode_after_accept_line = vim.api.nvim_get_mode().mode
  input("<Esc>")
end

-- Code actions: list them at the cursor (HERMES_E2E_LINE), then let Neovim resolve and
-- apply the one of kind HERMES_E2E_ACTION, as `gra` does.
function scenarios.action()
  setup()
  local client = vim.lsp.get_clients({ name = "hermes_lsp", bufnr = 0 })[1]
  vim.api.nvim_win_set_cursor(0, { tonumber(env.HERMES_E2E_LINE or "1"), 0 })
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {} }
  local reply = client:request_sync("textDocument/codeAction", params, 10000, 0)
  results.listed = {}
  for _, action in ipairs((reply and reply.result) or {}) do
    results.listed[#results.listed + 1] = { title = action.title, kind = action.kind, has_edit = action.edit ~= nil }
  end
  step("listed")
  local before = table.concat(lines(), "\n")
  vim.lsp.buf.code_action({
    apply = true,
    context = { only = { env.HERMES_E2E_ACTION }, diagnostics = {} },
    filter = function(action)
      return action.kind == env.HERMES_E2E_ACTION
    end,
  })
  wait_for("the code action's edit", 20000, function()
    return table.concat(lines(), "\n") ~= before
  end)
  results.lines = lines()
  results.modified = vim.bo.modified
  step("applied")
end

-- A diagnostic from another source (here a namespace of its own, as a linter plugin or
-- another language server would set it) gets "Hermes: fix" in the standard menu: `gra`,
-- i.e. vim.lsp.buf.code_action() with no arguments and vim.ui.select to pick.
function scenarios.foreign_fix()
  setup()
  local ns = vim.api.nvim_create_namespace("e2e_ruff")
  local row = tonumber(env.HERMES_E2E_LINE) - 1
  local line = lines()[row + 1]
  local col = assert(line:find(env.HERMES_E2E_WORD, 1, true)) - 1
  vim.diagnostic.set(ns, 0, {
    {
      lnum = row,
      col = col,
      end_col = col + #env.HERMES_E2E_WORD,
      severity = vim.diagnostic.severity.ERROR,
      message = env.HERMES_E2E_MESSAGE,
      source = "ruff",
      code = "F821",
    },
  })
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  results.menu = {}
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      local title = opts.format_item and opts.format_item(item) or tostring(item)
      results.menu[#results.menu + 1] = title
      if title:find("Hermes: fix", 1, true) then
        results.picked = title
        return on_choice(item, i)
      end
    end
    on_choice(nil, nil)
  end
  local before = table.concat(lines(), "\n")
  vim.api.nvim_input(env.HERMES_E2E_KEYS or "gra")
  wait_for("the fix's edit", 20000, function()
    return table.concat(lines(), "\n") ~= before
  end)
  results.lines = lines()
  step("fixed")
end

-- :HermesRefactor on a line range: the server's edit lands in the buffer.
function scenarios.refactor()
  setup()
  local before = table.concat(lines(), "\n")
  vim.cmd(env.HERMES_E2E_COMMAND)
  wait_for("the refactor's edit", 20000, function()
    return table.concat(lines(), "\n") ~= before
  end)
  results.lines = lines()
  step("refactored")
end

-- :%HermesDebug on a stack trace pasted into a scratch buffer: the fix lands in the file.
function scenarios.debug()
  setup()
  local file_buf = vim.api.nvim_get_current_buf()
  local before = table.concat(lines(), "\n")
  vim.cmd("new")
  vim.api.nvim_buf_set_lines(0, 0, -1, false, vim.split(env.HERMES_E2E_TRACE, "\n", { plain = true }))
  vim.cmd("%HermesDebug")
  wait_for("the fix in the file", 20000, function()
    return table.concat(vim.api.nvim_buf_get_lines(file_buf, 0, -1, false), "\n") ~= before
  end)
  results.lines = vim.api.nvim_buf_get_lines(file_buf, 0, -1, false)
  step("fixed")
end

-- A server that is not installed: the user is told what to do, and nothing breaks.
function scenarios.missing()
  results.messages = {}
  vim.notify = function(message, level)
    results.messages[#results.messages + 1] = { message = message, level = level }
  end
  require("hermes_lsp").setup({ cmd = { env.HERMES_E2E_SERVER, "--stdio" } })
  sleep(200)
  results.clients = #vim.lsp.get_clients()
  results.statusline = require("hermes_lsp").statusline()
  results.commands = vim.fn.exists(":HermesRefactor") == 2 and vim.fn.exists(":HermesDebug") == 2
end

-- The model server stops after the client reported it ready: :checkhealth must not call it
-- both ready and unreachable. The test stops it when HERMES_E2E_MARK.ready appears and
-- writes HERMES_E2E_MARK.stopped.
function scenarios.health_down()
  setup()
  local mark = env.HERMES_E2E_MARK
  local file = assert(io.open(mark .. ".ready", "w"))
  file:close()
  wait_for("the model server to stop", 15000, function()
    return vim.uv.fs_stat(mark .. ".stopped") ~= nil
  end)
  vim.cmd("checkhealth hermes_lsp")
  results.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  vim.cmd("bwipeout!")
end

-- The model server does not answer: the statusline and :checkhealth say so.
function scenarios.health()
  setup()
  results.statusline = require("hermes_lsp").statusline()
  vim.cmd("checkhealth hermes_lsp")
  results.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  vim.cmd("bwipeout!")
end

co = coroutine.create(function()
  local ok, err = pcall(scenarios[env.HERMES_E2E_SCENARIO])
  if not ok then
    results.errors[#results.errors + 1] = tostring(err)
  end
  results.lines = results.lines or lines()
  finish()
end)

vim.defer_fn(function()
  results.errors[#results.errors + 1] = "watchdog: the scenario took longer than 60 s"
  finish()
end, 60000)

vim.schedule(function()
  local ok, err = coroutine.resume(co)
  if not ok then
    results.errors[#results.errors + 1] = tostring(err)
    finish()
  end
end)
