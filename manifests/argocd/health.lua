-- Argo CD health of kube-acs resources (Device, DeviceGroup, ConfigProfile, DeviceTask,
-- Firmware, FirmwareRollout), read from what the operator writes: status.observedGeneration
-- and the conditions Ready, Reconciling (work under way), Stalled (failed, nothing
-- progressing) and Paused (a rollout held on purpose).
local hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for kube-acs to report a status"
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for kube-acs to act on generation " .. generation
  return hs
end
local found = {}
for _, condition in ipairs(obj.status.conditions) do
  found[condition.type] = condition
end
local function message(condition)
  if condition.message ~= nil and condition.message ~= "" then
    return condition.message
  end
  return condition.reason or ""
end
if found.Stalled ~= nil and found.Stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = message(found.Stalled)
  return hs
end
if found.Paused ~= nil and found.Paused.status == "True" then
  hs.status = "Suspended"
  hs.message = message(found.Paused)
  return hs
end
if found.Ready ~= nil and found.Ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message(found.Ready)
  return hs
end
if found.Reconciling ~= nil and found.Reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = message(found.Reconciling)
  return hs
end
if found.Ready ~= nil then
  hs.status = "Degraded"
  hs.message = message(found.Ready)
  return hs
end
hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
