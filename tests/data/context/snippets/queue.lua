local util = require("util")

local Queue = {}
Queue.__index = Queue

function Queue.new()
  return setmetatable({ items = {} }, Queue)
end

function Queue:push(item)
  table.insert(self.items, item)
  util.log("pushed")
end

local function drain(q)
  while #q.items > 0 do
    q:pop()
  end
end
